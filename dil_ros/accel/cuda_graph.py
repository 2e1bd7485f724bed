"""Replay the whole DDIM sampling loop of a policy as one captured CUDA graph.

``CudaGraphPolicy(module, example_obs, batch_size)`` allocates static observation, noise and
output buffers on the GPU, warms ``module`` up on a side stream (TorchScript's profiling executor
settles there), captures one full ``module(obs, noise)`` call (normaliser, every U-Net pass, every
DDIM step) and then serves each call by copying the inputs into the static buffers and replaying.
Kernel launches and Python/TorchScript interpreter overhead leave the hot path; the numbers are
the module's own. Shapes are fixed at capture: a call with other keys or shapes is refused.
"""
from typing import Dict, Optional, Tuple

import torch

from dil_ros.accel.errors import AccelError


class CudaGraphPolicy:
    """``__call__(obs {key: [B, To, D]}, noise [B, Tp, Da] or None) -> actions [B, Tp, Da]``.

    Inputs may live on any device (they are copied into the static buffers); the returned actions
    are a fresh tensor on the capture device. ``noise=None`` draws fresh standard normal noise.
    """

    def __init__(self, module, example_obs: Dict[str, torch.Tensor], batch_size: int = 1,
                 warmup: int = 3, device: Optional[torch.device] = None):
        if not torch.cuda.is_available():
            raise AccelError('form cuda_graph: needs a CUDA device, but torch.cuda.is_available() '
                             'is False here; use form torchscript (or aot) on the CPU')
        if not example_obs:
            raise AccelError('form cuda_graph: example_obs is empty')
        device = torch.device(device) if device is not None else torch.device('cuda')
        if device.type != 'cuda':
            raise AccelError(f'form cuda_graph: device must be cuda, got {device}')
        self.module = module
        self.batch_size = int(batch_size)
        self.device = device
        with torch.no_grad():
            self._obs = {}
            for key, value in example_obs.items():
                if value.dim() < 1:
                    raise AccelError(f'form cuda_graph: example observation {key!r} is a scalar')
                shape = (self.batch_size,) + tuple(value.shape[1:])
                self._obs[key] = torch.zeros(shape, dtype=value.dtype, device=device)
                self._obs[key].copy_(value.expand(shape) if value.shape[0] == 1 else value)
            probe = module(self._obs, None)
            self._noise = torch.randn(tuple(probe.shape), dtype=probe.dtype, device=device)
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(max(1, warmup)):
                    module(self._obs, self._noise)
            torch.cuda.current_stream(device).wait_stream(side)
            torch.cuda.synchronize(device)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self._out = module(self._obs, self._noise)
        self.shapes: Dict[str, Tuple[int, ...]] = {k: tuple(v.shape) for k, v in self._obs.items()}
        self.noise_shape = tuple(self._noise.shape)

    def _check(self, obs: Dict[str, torch.Tensor], noise: Optional[torch.Tensor]) -> None:
        if set(obs) != set(self._obs):
            raise AccelError(f'form cuda_graph: captured for observation keys '
                             f'{sorted(self._obs)}, got {sorted(obs)}')
        for key, value in obs.items():
            if tuple(value.shape) != self.shapes[key]:
                raise AccelError(f'form cuda_graph: observation {key!r}: captured for shape '
                                 f'{list(self.shapes[key])}, got {list(value.shape)}; a CUDA '
                                 f'graph cannot change shape (rebuild it for this batch size)')
        if noise is not None and tuple(noise.shape) != self.noise_shape:
            raise AccelError(f'form cuda_graph: noise: captured for shape {list(self.noise_shape)}'
                             f', got {list(noise.shape)}')

    def __call__(self, obs: Dict[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(obs, noise)
        with torch.no_grad():
            for key, value in obs.items():
                self._obs[key].copy_(value, non_blocking=True)
            if noise is None:
                self._noise.normal_()
            else:
                self._noise.copy_(noise, non_blocking=True)
            self.graph.replay()
            return self._out.clone()
