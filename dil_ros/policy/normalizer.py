"""Per-key min-max normaliser to [-1, 1], with its statistics in the state dict.

Like diffusion_policy's ``SingleFieldLinearNormalizer`` in 'limits' mode: ``y = x * scale +
offset`` maps [min, max] onto [-1, 1]; a dimension whose range is below 1e-4 (a constant) maps to
0 and unnormalises back to that constant. Scale and offset are buffers, so they travel with the
weights and into policy.ts."""

from typing import Dict, List, Mapping, Sequence

import torch
from torch import nn

from dil_ros.policy.config import PolicyError

RANGE_EPS = 1e-4


class _Affine(nn.Module):
    """One key's ``scale``/``offset`` buffers."""

    def __init__(self, key: str, scale: torch.Tensor, offset: torch.Tensor):
        super().__init__()
        self.key = key
        self.register_buffer('scale', scale)
        self.register_buffer('offset', offset)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.offset) / self.scale


def _limits(key: str, entry: Mapping, name: str) -> List[float]:
    if not isinstance(entry, Mapping) or name not in entry:
        raise PolicyError(f'normaliser stats: {key}.{name}: missing')
    values = entry[name]
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise PolicyError(f'normaliser stats: {key}.{name}: expected a non-empty list of numbers, '
                          f'got {values!r}')
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise PolicyError(f'normaliser stats: {key}.{name}: expected numbers, got {values!r}') \
            from None
    if not all(abs(v) < float('inf') for v in out):
        raise PolicyError(f'normaliser stats: {key}.{name}: values must be finite, got {out}')
    return out


def _affine(key: str, entry: Mapping) -> _Affine:
    lo = torch.tensor(_limits(key, entry, 'min'), dtype=torch.float32)
    hi = torch.tensor(_limits(key, entry, 'max'), dtype=torch.float32)
    if lo.shape != hi.shape:
        raise PolicyError(f'normaliser stats: {key}: min has {lo.numel()} values, max has '
                          f'{hi.numel()}')
    if bool((hi < lo).any()):
        raise PolicyError(f'normaliser stats: {key}: max is below min at dims '
                          f'{torch.nonzero(hi < lo).flatten().tolist()}')
    span = hi - lo
    constant = span < RANGE_EPS
    span = torch.where(constant, torch.full_like(span, 2.0), span)
    scale = 2.0 / span
    offset = torch.where(constant, -lo, -1.0 - scale * lo)
    return _Affine(key, scale, offset)


def _module_name(key: str) -> str:
    # ModuleDict names may not contain '.', and 'observation.state' does.
    return key.replace('.', '__')


class MinMaxNormalizer(nn.Module):
    """``normalize(key, x)`` / ``unnormalize(key, x)`` over the last dimension of ``x``.

    Built from dataset statistics ``{key: {'min': [...], 'max': [...], ...}}`` (other entries
    such as 'mean' are ignored); keys are 'action' and each 'observation.*'.
    """

    def __init__(self, stats: Mapping[str, Mapping[str, Sequence[float]]]):
        super().__init__()
        if not isinstance(stats, Mapping) or not stats:
            raise PolicyError('normaliser stats: expected a non-empty mapping of key -> '
                              '{min, max}')
        names = {_module_name(k): k for k in stats}
        if len(names) != len(stats):
            raise PolicyError(f'normaliser stats: keys {sorted(stats)} collide once '
                              "'.' is replaced by '__'")
        self.keys: List[str] = sorted(stats)
        self.params = nn.ModuleDict({_module_name(k): _affine(k, stats[k]) for k in self.keys})

    def dims(self) -> Dict[str, int]:
        """Vector size per key."""
        return {m.key: int(m.scale.numel()) for m in self.params.values()}

    @torch.jit.export
    def normalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        for _, m in self.params.items():
            if m.key == key:
                return m.normalize(x)
        raise KeyError('normaliser has no statistics for key ' + key)

    @torch.jit.export
    def normalize_observations(self, obs: Dict[str, torch.Tensor], keys: List[str],
                               n_obs_steps: int, dims: Dict[str, int]
                               ) -> Dict[str, torch.Tensor]:
        """Physical-unit observations {key: [B, To, D]} -> normalised, checking keys and shapes."""
        out: Dict[str, torch.Tensor] = {}
        for key in keys:
            if key not in obs:
                raise KeyError('missing observation key ' + key)
            x = obs[key]
            if x.dim() != 3 or x.shape[1] != n_obs_steps or x.shape[2] != dims[key]:
                raise ValueError('observation ' + key + ': expected shape [B, '
                                 + str(n_obs_steps) + ', ' + str(dims[key])
                                 + '], got ' + str(list(x.shape)))
            out[key] = self.normalize(key, x)
        return out

    @torch.jit.export
    def unnormalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        for _, m in self.params.items():
            if m.key == key:
                return m.unnormalize(x)
        raise KeyError('normaliser has no statistics for key ' + key)
