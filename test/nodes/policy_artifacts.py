"""Tiny policy.ts files for the policy node tests, written with the real export_policy."""
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from dil_ros.contract import Contract
from dil_ros.policy.export import export_policy


class OffsetPolicy(nn.Module):
    """actions[t] = newest observation.state + delta (+ slope * t), or NaN when ``nan``."""

    def __init__(self, horizon: int, delta, slope: float = 0.0, nan: bool = False):
        super().__init__()
        self.horizon = horizon
        self.register_buffer('delta', torch.tensor(delta, dtype=torch.float32))
        self.slope = slope
        self.nan = nan

    def forward(self, obs: Dict[str, torch.Tensor],
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        state = obs['observation.state'][:, -1, :]
        t = torch.arange(self.horizon, dtype=state.dtype).view(1, -1, 1)
        out = state.unsqueeze(1) + self.delta.view(1, 1, -1) + self.slope * t
        if self.nan:
            out = out * float('nan')
        return out


class MeanPixelPolicy(nn.Module):
    """actions[t] = newest observation.state + gain * (mean pixel of the newest frame / 255).

    Reads the camera as the node hands it over (uint8 [B, To, H, W, 3], the camera's size);
    a frame of another dtype or rank fails inside the module, as a real vision policy would.
    """

    def __init__(self, horizon: int, camera: str, gain: float = 0.1):
        super().__init__()
        self.horizon = horizon
        self.camera = camera
        self.gain = gain

    def forward(self, obs: Dict[str, torch.Tensor],
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        frames = obs[self.camera]
        if frames.dtype != torch.uint8 or frames.dim() != 5 or frames.shape[-1] != 3:
            raise ValueError('expected uint8 frames [B, To, H, W, 3]')
        state = obs['observation.state'][:, -1, :]
        mean = frames[:, -1].float().mean(dim=(1, 2, 3)) / 255.0
        out = state + self.gain * mean.view(-1, 1)
        return out.unsqueeze(1).repeat(1, self.horizon, 1)


def metadata(contract: Contract, kind: str = 'regression') -> dict:
    return {'kind': kind, 'contract': contract.to_mapping(), 'n_obs_steps': contract.n_obs_steps,
            'horizon': contract.horizon, 'n_action_steps': contract.n_action_steps,
            'obs_dims': contract.obs_dims, 'action_dim': contract.action_dim,
            **({'image_shapes': {k: list(v) for k, v in contract.image_shapes.items()}}
               if contract.image_keys else {}),
            'num_inference_steps': 1, 'data_fingerprint': 'test'}


def offset_artifact(path: Path, contract: Contract, delta=(0.01, 0.02, 0.03), slope=0.0,
                    nan=False) -> Path:
    return export_policy(OffsetPolicy(contract.horizon, list(delta), slope, nan), path,
                         metadata(contract))


def mean_pixel_artifact(path: Path, contract: Contract, gain: float = 0.1) -> Path:
    camera = contract.image_keys[0]
    return export_policy(MeanPixelPolicy(contract.horizon, camera, gain), path,
                         metadata(contract))


def diffusion_artifact(path: Path, contract: Contract, down_dims=(64, 128, 256)) -> Path:
    """An untrained DiffusionPolicy (latency is what matters), normalised around zero."""
    from dil_ros.policy.config import PolicyConfig
    from dil_ros.policy.diffusion_policy import DiffusionPolicy
    from dil_ros.policy.export import diffusion_metadata
    config = PolicyConfig(n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
                          n_action_steps=contract.n_action_steps, down_dims=tuple(down_dims))
    dims = {**contract.obs_dims, 'action': contract.action_dim}
    stats = {k: {'min': [-1.0] * d, 'max': [1.0] * d} for k, d in dims.items()}
    policy = DiffusionPolicy(config, contract.obs_dims, contract.action_dim, stats)
    return export_policy(policy, path, diffusion_metadata(policy, contract, 'untrained'))
