"""Deterministic DDIM sampling (eta = 0) in plain torch, for policy.ts.

Matches diffusers' ``DDIMScheduler`` with its defaults (set_alpha_to_one=True, steps_offset=0,
timestep_spacing='leading', or 'trailing' for few-step students) for the 'epsilon' and 'sample'
prediction types, without importing diffusers: the schedule is computed once in Python and stored
as plain floats, so a scripted sampling step is a handful of tensor-scalar operations.

Use::

    sampler = DDIMSampler(num_train_timesteps=100, num_inference_steps=10)
    x = noise
    for i in range(sampler.num_steps):
        x = sampler.step(model(x, sampler.timesteps[i]), i, x)
"""

import math
from typing import List

import torch
from torch import nn

from dil_ros.policy.config import (BETA_SCHEDULES, PREDICTION_TYPES, PolicyError,
                                    TIMESTEP_SPACINGS)


def make_betas(num_train_timesteps: int, beta_schedule: str = 'squaredcos_cap_v2',
               beta_start: float = 0.0001, beta_end: float = 0.02) -> torch.Tensor:
    """The training noise schedule (float32), computed as diffusers computes it."""
    n = num_train_timesteps
    if beta_schedule == 'linear':
        return torch.linspace(beta_start, beta_end, n, dtype=torch.float32)
    if beta_schedule == 'scaled_linear':
        return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=torch.float32) ** 2
    if beta_schedule == 'squaredcos_cap_v2':
        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        return torch.tensor([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), 0.999)
                             for i in range(n)], dtype=torch.float32)
    raise PolicyError(f'beta_schedule: must be one of {BETA_SCHEDULES}, got {beta_schedule!r}')


def leading_timesteps(num_train_timesteps: int, num_inference_steps: int) -> List[int]:
    """diffusers' 'leading' spacing: [(S-1)*r, ..., r, 0] with r = N // S."""
    ratio = num_train_timesteps // num_inference_steps
    return [i * ratio for i in reversed(range(num_inference_steps))]


def trailing_timesteps(num_train_timesteps: int, num_inference_steps: int) -> List[int]:
    """diffusers' 'trailing' spacing: round(arange(N, 0, -N/S)) - 1, e.g. [99] for one step, so
    the first step sees pure noise at the last training timestep (what a 1-3 step model needs)."""
    step = num_train_timesteps / num_inference_steps
    return [int(round(num_train_timesteps - k * step)) - 1 for k in range(num_inference_steps)]


class DDIMSampler(nn.Module):
    def __init__(self, num_train_timesteps: int = 100, num_inference_steps: int = 10,
                 beta_schedule: str = 'squaredcos_cap_v2', prediction_type: str = 'epsilon',
                 clip_sample: bool = True, clip_sample_range: float = 1.0,
                 beta_start: float = 0.0001, beta_end: float = 0.02,
                 timestep_spacing: str = 'leading'):
        super().__init__()
        if timestep_spacing not in TIMESTEP_SPACINGS:
            raise PolicyError(f'timestep_spacing: must be one of {TIMESTEP_SPACINGS}, '
                              f'got {timestep_spacing!r}')
        if prediction_type not in PREDICTION_TYPES:
            raise PolicyError(f'prediction_type: must be one of {PREDICTION_TYPES}, '
                              f'got {prediction_type!r}')
        if not 1 <= num_inference_steps <= num_train_timesteps:
            raise PolicyError(f'num_inference_steps: must be in [1, {num_train_timesteps}], '
                              f'got {num_inference_steps}')
        alphas_cumprod = torch.cumprod(
            1.0 - make_betas(num_train_timesteps, beta_schedule, beta_start, beta_end), dim=0)
        spacing = leading_timesteps if timestep_spacing == 'leading' else trailing_timesteps
        steps = spacing(num_train_timesteps, num_inference_steps)
        ratio = num_train_timesteps // num_inference_steps
        one = torch.tensor(1.0)
        a_t = torch.stack([alphas_cumprod[t] for t in steps])
        a_prev = torch.stack([alphas_cumprod[t - ratio] if t - ratio >= 0 else one
                              for t in steps])
        # Same float32 arithmetic as DDIMScheduler.step, done once per step here.
        self.num_steps = num_inference_steps
        self.epsilon = prediction_type == 'epsilon'
        self.clip_sample = clip_sample
        self.clip_sample_range = float(clip_sample_range)
        self.timestep_list: List[int] = steps
        self.sqrt_a_t: List[float] = (a_t ** 0.5).tolist()
        self.sqrt_b_t: List[float] = ((1 - a_t) ** 0.5).tolist()
        self.sqrt_a_prev: List[float] = (a_prev ** 0.5).tolist()
        self.sqrt_b_prev: List[float] = ((1 - a_prev) ** 0.5).tolist()
        self.register_buffer('timesteps', torch.tensor(steps, dtype=torch.long), persistent=False)

    @torch.jit.export
    def step(self, model_output: torch.Tensor, i: int, sample: torch.Tensor) -> torch.Tensor:
        """One denoising step: x at ``timesteps[i]`` -> x at the next (smaller) timestep."""
        if self.epsilon:
            pred_x0 = (sample - self.sqrt_b_t[i] * model_output) / self.sqrt_a_t[i]
            pred_eps = model_output
        else:
            pred_x0 = model_output
            pred_eps = (sample - self.sqrt_a_t[i] * model_output) / self.sqrt_b_t[i]
        if self.clip_sample:
            pred_x0 = pred_x0.clamp(-self.clip_sample_range, self.clip_sample_range)
        return self.sqrt_a_prev[i] * pred_x0 + self.sqrt_b_prev[i] * pred_eps
