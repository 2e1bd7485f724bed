"""fp16/bf16 forms of a diffusion policy: the U-Net runs in reduced precision, the rest in fp32.

Only the network's weights are cast. The normaliser, the DDIM schedule arithmetic and the sample
``x`` stay float32: the U-Net is wrapped so that each call casts its inputs (sample, global
condition) down and its output back up, so the rounding error is the network's alone and does not
accumulate in the sampler state. The sinusoidal time embedding is computed in fp32 and cast inside
the model before its first Linear layer, which is what lets the bf16 network script and compile.

A policy with cameras also runs each image encoder (ResNet trunk, spatial softmax, Linear) in
``dtype``: the preprocessed frames are cast down at its input and its features back up to fp32,
so resizing, cropping and ImageNet normalisation stay fp32 too.

The wrapper mirrors the U-Net methods the policy calls: ``forward`` and, where the U-Net has them,
``film_table``/``forward_table`` (FiLM terms precomputed once per chunk). Error against fp32
policy.ts on the same noise is measured in test/accel/test_precision.py; bounds: parity.TOLERANCE.
"""
import copy
from typing import List, Optional

import torch
from torch import nn

from dil_ros.accel.errors import AccelError

DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


class _CastOutput(nn.Module):
    """``inner`` (the fp32 sinusoidal embedding), its output cast to the network dtype."""

    def __init__(self, inner: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.inner = inner
        self.register_buffer('like', torch.zeros((), dtype=dtype), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).to(self.like.dtype)


class ReducedPrecisionUnet(nn.Module):
    """A ConditionalUnet1D with weights in ``dtype``; fp32 in, fp32 out."""

    def __init__(self, unet: nn.Module, dtype: torch.dtype):
        super().__init__()
        unet = copy.deepcopy(unet).to(dtype)
        encoder = getattr(unet, 'diffusion_step_encoder', None)
        if not isinstance(encoder, nn.Sequential):
            raise AccelError(f'precision: {type(unet).__name__} has no diffusion_step_encoder '
                             f'Sequential to cast the time embedding in')
        encoder[0] = _CastOutput(encoder[0], dtype)
        self.unet = unet
        self.register_buffer('like', torch.zeros((), dtype=dtype), persistent=False)

    def _cond(self, global_cond: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if global_cond is None:
            return None
        return global_cond.to(self.like.dtype)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                global_cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.unet(sample.to(self.like.dtype), timestep, self._cond(global_cond))
        return out.to(sample.dtype)


class ReducedPrecisionTableUnet(ReducedPrecisionUnet):
    """The same for a U-Net that also offers ``film_table``/``forward_table``."""

    @torch.jit.export
    def film_table(self, timesteps: torch.Tensor, global_cond: Optional[torch.Tensor]
                   ) -> List[List[List[torch.Tensor]]]:
        return self.unet.film_table(timesteps, self._cond(global_cond))

    @torch.jit.export
    def forward_table(self, sample: torch.Tensor, table: List[List[List[torch.Tensor]]],
                      step: int) -> torch.Tensor:
        out = self.unet.forward_table(sample.to(self.like.dtype), table, step)
        return out.to(sample.dtype)


class ReducedPrecisionEncoder(nn.Module):
    """An image encoder whose weights are in ``dtype``; fp32 in, fp32 out (casts in place)."""

    def __init__(self, encoder: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.encoder = encoder.to(dtype)
        self.register_buffer('like', torch.zeros((), dtype=dtype), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.to(self.like.dtype)).to(x.dtype)


def _reduced_precision_vision(vision: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A copy of a policy's CameraEncoders whose encoders run in ``dtype`` (one shared stays
    shared)."""
    vision = copy.deepcopy(vision)
    wrapped = {}
    for camera in vision.cameras.values():
        key = id(camera.encoder)
        if key not in wrapped:
            wrapped[key] = ReducedPrecisionEncoder(camera.encoder, dtype)
        camera.encoder = wrapped[key]
    return vision


def reduced_precision_policy(policy: nn.Module, precision: str) -> nn.Module:
    """A copy of ``policy`` (a DiffusionPolicy) whose ``.model`` (and camera encoders) run in
    'fp16' or 'bf16'.

    The copy scripts like the original (export it with dil_ros.policy.export.export_policy).
    """
    if precision not in DTYPES:
        raise AccelError(f'precision: expected one of {sorted(DTYPES)}, got {precision!r}')
    model = getattr(policy, 'model', None)
    if not isinstance(model, nn.Module):
        raise AccelError(f'precision {precision}: needs a DiffusionPolicy (with a .model '
                         f'network); got {type(policy).__name__}')
    wrapper = (ReducedPrecisionTableUnet if hasattr(model, 'film_table')
               else ReducedPrecisionUnet)
    out = copy.copy(policy)  # shallow: shares the normaliser and sampler, swaps the network
    out._modules = dict(policy._modules)
    out.model = wrapper(model, DTYPES[precision])
    vision = getattr(policy, 'vision', None)
    if vision is not None and len(vision):
        out.vision = _reduced_precision_vision(vision, DTYPES[precision])
    return out.eval()
