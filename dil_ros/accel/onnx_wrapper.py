"""The rejected layout of the onnx form, kept as a benchmark candidate ('onnx_wrapper').

Two graphs (observations -> global condition; the denoiser ``unet(sample, t, cond)``), with
the DDIM loop and the unnormalisation in a thin Python wrapper (the layout most diffusion ONNX
exports use, and the one that allows a step count chosen at run time). Measured against the
in-graph loop in docs/benchmarks.md, a: it pays one session call per step and recomputes every FiLM
term per step, so form onnx keeps the loop inside the graph.
"""
import io
import warnings
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

from dil_ros.accel.onnx_runtime import _ort, session_options


class _Cond(nn.Module):
    def __init__(self, policy: nn.Module, keys):
        super().__init__()
        self.policy, self.keys = policy, list(keys)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        nobs = self.policy.normalize_obs(dict(zip(self.keys, inputs)))
        return self.policy.global_cond(nobs, None)


class _Denoiser(nn.Module):
    def __init__(self, policy: nn.Module):
        super().__init__()
        self.model = policy.model

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        return self.model(sample, timestep, cond)


def _session(module: nn.Module, args, names, level: str, workdir: Path, name: str):
    path = Path(workdir) / name
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(module, args, buffer, input_names=names, output_names=['out'],
                          opset_version=18, dynamo=False)
    path.write_bytes(buffer.getvalue())
    return _ort().InferenceSession(str(path), session_options(None, level),
                                   providers=['CPUExecutionProvider'])


class OnnxWrapperPolicy:
    """``(obs, noise) -> actions``: condition graph once, denoiser graph per DDIM step."""

    def __init__(self, policy: nn.Module, obs: Dict[str, torch.Tensor], noise: torch.Tensor,
                 workdir: Path, level: str = 'all'):
        policy = policy.cpu().eval()
        self.keys = sorted(obs)
        self.sampler = policy.sampler
        self.normalizer = policy.normalizer
        cond = _Cond(policy, self.keys)
        args = tuple(obs[k].cpu() for k in self.keys)
        self.cond = _session(cond, args, self.keys, level, workdir, 'cond.onnx')
        with torch.no_grad():
            example_cond = cond(*args)
        step = torch.tensor([int(self.sampler.timestep_list[0])])
        self.denoiser = _session(_Denoiser(policy), (noise.cpu(), step, example_cond),
                                 ['sample', 'timestep', 'cond'], level, workdir, 'denoiser.onnx')
        self.timesteps = [np.array([t], dtype=np.int64) for t in self.sampler.timestep_list]

    def __call__(self, obs: Dict[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        feed = {k: obs[k].cpu().numpy() for k in self.keys}
        cond = self.cond.run(None, feed)[0]
        x = noise.cpu().numpy()
        s = self.sampler
        for i, t in enumerate(self.timesteps):
            out = self.denoiser.run(None, {'sample': x, 'timestep': t, 'cond': cond})[0]
            if s.epsilon:
                x0, eps = (x - s.sqrt_b_t[i] * out) / s.sqrt_a_t[i], out
            else:
                x0, eps = out, (x - s.sqrt_a_t[i] * out) / s.sqrt_b_t[i]
            if s.clip_sample:
                x0 = np.clip(x0, -s.clip_sample_range, s.clip_sample_range)
            x = (s.sqrt_a_prev[i] * x0 + s.sqrt_b_prev[i] * eps).astype(np.float32)
        return self.normalizer.unnormalize('action', torch.from_numpy(x))
