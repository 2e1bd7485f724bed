"""Training objectives as nn.Modules, so DistributedDataParallel can wrap them.

Both take physical-unit batches, normalise them with the policy's own normaliser, and return a
scalar MSE. Random draws (noise, timesteps and, for a policy with cameras, the uniform draws that
place each frame's random crop) are made by ``draw`` from the caller's generator and passed in, so
a run is a pure function of its seeds and resumes exactly.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from torch import nn


def make_noise_scheduler(config) -> DDPMScheduler:
    """diffusers' DDPM scheduler with the policy's training-noise settings."""
    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps,
                         beta_start=config.beta_start, beta_end=config.beta_end,
                         beta_schedule=config.beta_schedule,
                         prediction_type=config.prediction_type,
                         clip_sample=config.clip_sample,
                         clip_sample_range=config.clip_sample_range)


class DiffusionObjective(nn.Module):
    """ε- (or sample-) prediction MSE of the policy's U-Net on DDPM-noised action chunks."""

    def __init__(self, policy: nn.Module, config):
        super().__init__()
        self.policy = policy
        self.scheduler = make_noise_scheduler(config)
        self.num_train_timesteps = config.num_train_timesteps
        self.prediction_type = config.prediction_type

    def draw(self, action: torch.Tensor, generator: torch.Generator):
        """Noise shaped like ``action`` and one timestep per sample, from ``generator``; with
        cameras also crop draws [B, To, n_cameras, 2] (``forward``'s ``crop_u``)."""
        noise = torch.randn(action.shape, generator=generator, device=action.device)
        t = torch.randint(0, self.num_train_timesteps, (action.shape[0],), generator=generator,
                          device=action.device)
        return (noise, t) + _crop_draws(self.policy, action, generator)

    def forward(self, obs: Dict[str, torch.Tensor], action: torch.Tensor,
                noise: torch.Tensor, timesteps: torch.Tensor,
                crop_u: Optional[torch.Tensor] = None) -> torch.Tensor:
        norm = self.policy.normalizer
        nobs = self.policy.normalize_obs(obs)
        naction = norm.normalize('action', action)
        cond = self.policy.global_cond(nobs, crop_u)
        noisy = self.scheduler.add_noise(naction, noise, timesteps)
        pred = self.policy.model(noisy, timesteps, global_cond=cond)
        target = noise if self.prediction_type == 'epsilon' else naction
        return F.mse_loss(pred.float(), target.float())


class RegressionObjective(nn.Module):
    """Plain MSE of the regression baseline's normalised action chunk."""

    def __init__(self, policy: nn.Module, config=None):
        super().__init__()
        self.policy = policy

    def draw(self, action: torch.Tensor, generator: torch.Generator):
        """Nothing random, except crop draws for a policy with cameras (as the diffusion
        objective's)."""
        return (torch.zeros(0, device=action.device), torch.zeros(0, device=action.device)
                ) + _crop_draws(self.policy, action, generator)

    def forward(self, obs: Dict[str, torch.Tensor], action: torch.Tensor,
                noise: Optional[torch.Tensor] = None,
                timesteps: Optional[torch.Tensor] = None,
                crop_u: Optional[torch.Tensor] = None) -> torch.Tensor:
        norm = self.policy.normalizer
        images = set(self.policy.vision.keys)   # camera frames go to the encoders as they are
        nobs = {k: v if k in images else norm.normalize(k, v) for k, v in obs.items()}
        pred = self.policy.predict_normalized(nobs, crop_u)
        return F.mse_loss(pred.float(), norm.normalize('action', action).float())


def _crop_draws(policy: nn.Module, action: torch.Tensor, generator: torch.Generator):
    """``(crop_u,)`` for a policy with cameras, else ``()`` (state-only draws are unchanged)."""
    vision = getattr(policy, 'vision', None)
    if vision is None or not len(vision):
        return ()
    shape = (action.shape[0], policy.n_obs_steps, len(vision), 2)
    return (torch.rand(shape, generator=generator, device=action.device),)
