"""Replay the whole DDIM sampling loop of a policy as one captured CUDA graph.

``CudaGraphPolicy(module, example_obs, batch_size)`` allocates static observation, noise and
output buffers on the GPU, warms ``module`` up on a side stream (TorchScript's profiling executor
settles there), captures one full ``module(obs, noise)`` call (normaliser, image preprocessing and
encoders, every U-Net pass, every DDIM step) and then serves each call by copying the inputs into
the static buffers and replaying. Kernel launches and Python/TorchScript interpreter overhead leave
the hot path; the numbers are the module's own.

Shapes are fixed at capture, with one exception: camera frames (uint8 ``[B, To, H, W, 3]``) arrive
at the camera's native size, which the node learns only from the first image, while the example
(and the node's warm-up) uses the policy's input size. A call whose frames have another H x W is
captured once more for that size (policy.ts resizes inside, so each size is its own graph; at most
``MAX_FRAME_SIZES``), and that first call pays the capture. Any other change of keys, batch or
shape is refused.
"""
from typing import Dict, Optional, Tuple

import torch

from dil_ros.accel.errors import AccelError

MAX_FRAME_SIZES = 4   # graphs kept per policy; a camera changes size rarely, if ever

Shapes = Tuple[Tuple[str, Tuple[int, ...]], ...]


def _is_frames(value: torch.Tensor) -> bool:
    return value.dtype == torch.uint8 and value.dim() == 5 and value.shape[-1] == 3


class _Graph:
    """One capture: static inputs, noise and output of ``module`` for fixed shapes."""

    def __init__(self, module, obs: Dict[str, torch.Tensor], noise_like: Optional[torch.Tensor],
                 warmup: int, device: torch.device):
        with torch.no_grad():
            self.obs = {k: v.clone() for k, v in obs.items()}
            if noise_like is None:   # the first capture: the module says the actions' shape
                noise_like = module(self.obs, None)
            self.noise = torch.randn(tuple(noise_like.shape), dtype=noise_like.dtype,
                                     device=device)
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(max(1, warmup)):
                    module(self.obs, self.noise)
            torch.cuda.current_stream(device).wait_stream(side)
            torch.cuda.synchronize(device)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = module(self.obs, self.noise)

    def __call__(self, obs: Dict[str, torch.Tensor], noise: Optional[torch.Tensor]):
        with torch.no_grad():
            for key, value in obs.items():
                self.obs[key].copy_(value, non_blocking=True)
            if noise is None:
                self.noise.normal_()
            else:
                self.noise.copy_(noise, non_blocking=True)
            self.graph.replay()
            return self.out.clone()


class CudaGraphPolicy:
    """``__call__(obs {key: [B, To, D]}, noise [B, Tp, Da] or None) -> actions [B, Tp, Da]``.

    Inputs may live on any device (they are copied into the static buffers); the returned actions
    are a fresh tensor on the capture device. ``noise=None`` draws fresh standard normal noise.
    Cameras: uint8 ``[B, To, H, W, 3]``; a new H x W is captured on its first call (see above).
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
        self.warmup = warmup
        obs = {}
        for key, value in example_obs.items():
            if value.dim() < 1:
                raise AccelError(f'form cuda_graph: example observation {key!r} is a scalar')
            shape = (self.batch_size,) + tuple(value.shape[1:])
            obs[key] = torch.zeros(shape, dtype=value.dtype, device=device)
            obs[key].copy_(value.expand(shape) if value.shape[0] == 1 else value)
        self.frame_keys = sorted(k for k, v in obs.items() if _is_frames(v))
        first = _Graph(module, obs, None, warmup, device)
        self._noise = first.noise
        self.noise_shape = tuple(first.noise.shape)
        self.shapes: Dict[str, Tuple[int, ...]] = {k: tuple(v.shape) for k, v in obs.items()}
        self._graphs: Dict[Shapes, _Graph] = {self._signature(obs): first}

    @staticmethod
    def _signature(obs: Dict[str, torch.Tensor]) -> Shapes:
        return tuple(sorted((k, tuple(v.shape)) for k, v in obs.items()))

    def _check(self, obs: Dict[str, torch.Tensor], noise: Optional[torch.Tensor]) -> None:
        if set(obs) != set(self.shapes):
            raise AccelError(f'form cuda_graph: captured for observation keys '
                             f'{sorted(self.shapes)}, got {sorted(obs)}')
        for key, value in obs.items():
            want = self.shapes[key]
            got = tuple(value.shape)
            if key in self.frame_keys and value.dtype != torch.uint8:
                raise AccelError(f'form cuda_graph: observation {key!r}: expected uint8 frames, '
                                 f'got {value.dtype}')
            if key in self.frame_keys and len(got) == 5 and got[:2] + got[4:] == \
                    want[:2] + want[4:]:
                continue   # another frame size: captured on demand
            if got != want:
                raise AccelError(f'form cuda_graph: observation {key!r}: captured for shape '
                                 f'{list(want)}, got {list(got)}; a CUDA graph cannot change '
                                 f'shape (rebuild it for this batch size)')
        if noise is not None and tuple(noise.shape) != self.noise_shape:
            raise AccelError(f'form cuda_graph: noise: captured for shape {list(self.noise_shape)}'
                             f', got {list(noise.shape)}')

    def _graph_for(self, obs: Dict[str, torch.Tensor]) -> _Graph:
        signature = self._signature(obs)
        graph = self._graphs.get(signature)
        if graph is None:
            if len(self._graphs) >= MAX_FRAME_SIZES:
                sizes = {k: tuple(obs[k].shape[2:4]) for k in self.frame_keys}
                raise AccelError(f'form cuda_graph: frames of a new size {sizes}, but '
                                 f'{MAX_FRAME_SIZES} sizes are captured already: '
                                 f'{self.captured_frame_sizes}')
            static = {k: v.to(self.device).clone() for k, v in obs.items()}
            graph = _Graph(self.module, static, self._noise, self.warmup, self.device)
            self._graphs[signature] = graph
        return graph

    @property
    def captured_frame_sizes(self):
        """[{camera key: (H, W)}] of the graphs captured so far, in capture order."""
        return [{k: shape[2:4] for k, shape in sig if k in self.frame_keys}
                for sig in self._graphs]

    def __call__(self, obs: Dict[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(obs, noise)
        return self._graph_for(obs)(obs, noise)
