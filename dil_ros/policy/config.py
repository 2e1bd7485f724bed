"""Hyper-parameters of the diffusion policy: one small dataclass, validated on construction.

Defaults follow Chi et al.'s diffusion_policy (CNN, low-dim): To=2, Tp=16, Ta=8, U-Net
(256, 512, 1024), FiLM with scale, 100 training steps on the squared-cosine schedule, DDIM-10 at
inference.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Mapping, Tuple

from dil_ros.errors import DilRosError

BETA_SCHEDULES = ('squaredcos_cap_v2', 'linear', 'scaled_linear')
PREDICTION_TYPES = ('epsilon', 'sample')
# diffusers' names: 'leading' (DDIM-10 of 100: 90, 80, ..., 0) and 'trailing' (99, 89, ..., 9),
# which starts from pure noise; few-step distilled students (dil-ros distill) use 'trailing'.
TIMESTEP_SPACINGS = ('leading', 'trailing')


class PolicyError(DilRosError, ValueError):
    """A policy configuration or normaliser statistic is invalid; the message names the key."""


@dataclass(frozen=True)
class PolicyConfig:
    n_obs_steps: int = 2
    horizon: int = 16
    n_action_steps: int = 8
    down_dims: Tuple[int, ...] = (256, 512, 1024)
    kernel_size: int = 5
    n_groups: int = 8
    diffusion_step_embed_dim: int = 256
    cond_predict_scale: bool = True
    num_train_timesteps: int = 100
    beta_schedule: str = 'squaredcos_cap_v2'
    beta_start: float = 0.0001
    beta_end: float = 0.02
    prediction_type: str = 'epsilon'
    clip_sample: bool = True
    clip_sample_range: float = 1.0
    num_inference_steps: int = 10
    timestep_spacing: str = 'leading'
    source: str = '<policy config>'

    def __post_init__(self):
        object.__setattr__(self, 'down_dims', tuple(self.down_dims))
        for name in ('n_obs_steps', 'horizon', 'n_action_steps', 'kernel_size', 'n_groups',
                     'diffusion_step_embed_dim', 'num_train_timesteps', 'num_inference_steps'):
            self._positive_int(name, getattr(self, name))
        for name in ('cond_predict_scale', 'clip_sample'):
            if not isinstance(getattr(self, name), bool):
                raise self._fail(name, f'expected bool, got {getattr(self, name)!r}')
        for name in ('beta_start', 'beta_end', 'clip_sample_range'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise self._fail(name, f'expected a number > 0, got {value!r}')
        if not self.down_dims:
            raise self._fail('down_dims', 'must list at least one channel count')
        for i, dim in enumerate(self.down_dims):
            self._positive_int(f'down_dims[{i}]', dim)
            if dim % self.n_groups:
                raise self._fail(f'down_dims[{i}]',
                                 f'{dim} channels are not divisible by n_groups={self.n_groups}')
        if self.kernel_size % 2 == 0:
            raise self._fail('kernel_size', f'must be odd (same-length convolution), got '
                                            f'{self.kernel_size}')
        if self.diffusion_step_embed_dim % 2 or self.diffusion_step_embed_dim < 4:
            raise self._fail('diffusion_step_embed_dim',
                             f'must be even and >= 4, got {self.diffusion_step_embed_dim}')
        levels = 2 ** (len(self.down_dims) - 1)
        if self.horizon % levels:
            raise self._fail('horizon', f'{self.horizon} is not divisible by {levels} '
                                        f'(the U-Net halves it {len(self.down_dims) - 1} times)')
        if self.n_obs_steps + self.n_action_steps - 1 > self.horizon:
            raise self._fail('n_action_steps', f'n_obs_steps + n_action_steps - 1 = '
                                               f'{self.n_obs_steps + self.n_action_steps - 1} '
                                               f'must not exceed horizon = {self.horizon}')
        if self.beta_schedule not in BETA_SCHEDULES:
            raise self._fail('beta_schedule', f'must be one of {BETA_SCHEDULES}, '
                                              f'got {self.beta_schedule!r}')
        if self.prediction_type not in PREDICTION_TYPES:
            raise self._fail('prediction_type', f'must be one of {PREDICTION_TYPES}, '
                                                f'got {self.prediction_type!r}')
        if self.timestep_spacing not in TIMESTEP_SPACINGS:
            raise self._fail('timestep_spacing', f'must be one of {TIMESTEP_SPACINGS}, '
                                                 f'got {self.timestep_spacing!r}')
        if self.num_inference_steps > self.num_train_timesteps:
            raise self._fail('num_inference_steps',
                             f'{self.num_inference_steps} exceeds num_train_timesteps = '
                             f'{self.num_train_timesteps}')

    def _fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(f'{self.source}: {key}: {problem}')

    def _positive_int(self, key: str, value: Any):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, f'expected int, got {value!r}')
        if value < 1:
            raise self._fail(key, f'must be >= 1, got {value}')

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON/YAML data (``down_dims`` as a list, ``source`` left out)."""
        out = asdict(self)
        out.pop('source')
        out['down_dims'] = list(self.down_dims)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = '<policy config>') -> 'PolicyConfig':
        """Build from a mapping; unknown keys are an error naming ``source`` and the key."""
        if not isinstance(data, Mapping):
            raise PolicyError(f'{source}: expected a mapping, got {type(data).__name__}')
        allowed = [f.name for f in fields(cls) if f.name != 'source']
        for key in data:
            if key not in allowed:
                raise PolicyError(f'{source}: {key}: unknown key (allowed: {", ".join(allowed)})')
        values = dict(data)
        if 'down_dims' in values and not isinstance(values['down_dims'], (list, tuple)):
            raise PolicyError(f'{source}: down_dims: expected a list, '
                              f'got {values["down_dims"]!r}')
        return cls(**values, source=source)
