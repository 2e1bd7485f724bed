"""The deployable diffusion policy: normaliser + conditional U-Net + DDIM sampling loop.

Timeline (Chi et al.), one tick per 1/rate_hz::

    obs:     |o|o|                 To = n_obs_steps (newest observation = now)
    action:  |a|a|a|a|a|a|a|a|...  Tp = horizon, starting at the oldest observation
    execute:   |x|x|x|x|x|x|x|x|   Ta = n_action_steps, starting at the newest observation

``forward`` takes observations in physical units, ``{key: [B, To, D_key]}``, and returns the whole
chunk ``[B, Tp, Da]`` in physical units; choosing the Ta actions to execute is the caller's job.
Cameras (``cameras``, keys ``observation.images.*``) come as raw uint8 frames ``[B, To, H, W, 3]``
at any size; each is resized, cropped, normalised and encoded (vision_cameras.py) to ``[B, To, F]``
and concatenated after the normalised low-dim observations into the U-Net's global condition.
Images are not min-max normalised (ImageNet mean/std instead).
``forward(obs, noise, prefix, prefix_weight)``: with ``prefix`` [B, Tp, Da] (physical units) and
``prefix_weight`` [B, Tp] the sampler inpaints the chunk to agree with the chunk being executed
(guided hand-over, guided.py); without them the call is the plain one, number for number.
The training loss lives in dil_ros.training, not here: this module is what policy.ts holds.
"""

from typing import Dict, List, Mapping, Optional, Sequence

import torch
from torch import nn

from dil_ros.policy.config import PolicyConfig, PolicyError
from dil_ros.policy.ddim import DDIMSampler
from dil_ros.policy.guided import check_guide, guided_step
from dil_ros.policy.normalizer import MinMaxNormalizer
from dil_ros.policy.unet import ConditionalUnet1D
from dil_ros.policy.vision_cameras import CameraEncoders
from dil_ros.policy.vision_encoder import VisionConfig
from dil_ros.policy.vision_preprocess import CameraSpec


class DiffusionPolicy(nn.Module):
    obs_keys: List[str]          # TorchScript types (the lists may be empty)
    obs_dims: Dict[str, int]

    def __init__(self, config: PolicyConfig, obs_dims: Mapping[str, int], action_dim: int,
                 stats: Mapping[str, Mapping[str, Sequence[float]]],
                 cameras: Sequence[CameraSpec] = (), vision: Optional[VisionConfig] = None):
        super().__init__()
        if not obs_dims and not cameras:
            raise PolicyError('obs_dims: must list at least one observation key')
        needed = {**dict(obs_dims), 'action': action_dim}
        for key, dim in needed.items():
            if key not in stats:
                raise PolicyError(f'normaliser stats: {key}: missing (stats hold {sorted(stats)})')
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise PolicyError(f'{"action_dim" if key == "action" else "obs_dims." + key}: '
                                  f'expected a positive int, got {dim!r}')
        self.config = config
        self.normalizer = MinMaxNormalizer({k: stats[k] for k in needed})
        for key, dim in self.normalizer.dims().items():
            if dim != needed[key]:
                raise PolicyError(f'normaliser stats: {key}: {dim} values, but the policy '
                                  f'expects {needed[key]}')
        self.obs_keys: List[str] = sorted(obs_dims)
        self.obs_dims: Dict[str, int] = {k: int(obs_dims[k]) for k in self.obs_keys}
        self.action_dim = int(action_dim)
        self.n_obs_steps = config.n_obs_steps
        self.horizon = config.horizon
        self.vision_config = vision or VisionConfig()
        self.cameras: List[CameraSpec] = sorted(cameras, key=lambda c: c.key)
        self.vision = CameraEncoders(self.cameras, config.n_obs_steps, self.vision_config)
        self.global_cond_dim = (sum(self.obs_dims.values()) + len(self.vision)
                                * self.vision.feature_dim) * config.n_obs_steps
        self.model = ConditionalUnet1D(
            input_dim=action_dim, global_cond_dim=self.global_cond_dim,
            diffusion_step_embed_dim=config.diffusion_step_embed_dim, down_dims=config.down_dims,
            kernel_size=config.kernel_size, n_groups=config.n_groups,
            cond_predict_scale=config.cond_predict_scale)
        self.sampler = DDIMSampler(
            num_train_timesteps=config.num_train_timesteps,
            num_inference_steps=config.num_inference_steps,
            beta_schedule=config.beta_schedule, prediction_type=config.prediction_type,
            clip_sample=config.clip_sample, clip_sample_range=config.clip_sample_range,
            beta_start=config.beta_start, beta_end=config.beta_end,
            timestep_spacing=config.timestep_spacing)

    @torch.jit.export
    def normalize_obs(self, obs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Physical-unit observations -> normalised, checking keys and shapes; camera frames
        pass through unchanged (vision_cameras checks them)."""
        nobs = self.normalizer.normalize_observations(obs, self.obs_keys, self.n_obs_steps,
                                                      self.obs_dims)
        for key in self.vision.keys:
            if key not in obs:
                raise KeyError('missing observation key ' + key)
            nobs[key] = obs[key]
        return nobs

    @torch.jit.export
    def global_cond(self, nobs: Dict[str, torch.Tensor],
                    crop_u: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Normalised observations {key: [B, To, D]} and raw camera frames -> [B, To * sum(D)]:
        low-dim keys in sorted order, then each camera's features in key order. ``crop_u``
        [B, To, n_cameras, 2] (training) picks random crops; None: centre crops."""
        feats = [nobs[key] for key in self.obs_keys]
        feats.extend(self.vision(nobs, crop_u))
        x = torch.cat(feats, dim=-1)
        return x.reshape(x.shape[0], -1)

    @torch.jit.export
    def conditional_sample(self, cond: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Run DDIM from ``noise`` [B, Tp, Da] given the global condition; normalised actions."""
        # The FiLM terms of every step depend only on the fixed timesteps and ``cond``: compute
        # them once per chunk (ConditionalUnet1D.film_table), not once per step.
        table = self.model.film_table(self.sampler.timesteps.to(noise.device), cond)
        x = noise
        for i in range(self.sampler.num_steps):
            x = self.sampler.step(self.model.forward_table(x, table, i), i, x)
        return x

    @torch.jit.export
    def guided_sample(self, cond: torch.Tensor, noise: torch.Tensor, target: torch.Tensor,
                      weight: torch.Tensor) -> torch.Tensor:
        """conditional_sample with each step pulled toward ``target`` (normalised actions
        [B, Tp, Da]) by ``weight`` [B, Tp, 1] (guided.py derives it)."""
        table = self.model.film_table(self.sampler.timesteps.to(noise.device), cond)
        s = self.sampler
        x = noise
        for i in range(s.num_steps):
            x = guided_step(self.model.forward_table(x, table, i), x, target, weight,
                            s.sqrt_a_t[i], s.sqrt_b_t[i], s.sqrt_a_prev[i], s.sqrt_b_prev[i],
                            s.epsilon, s.clip_sample, s.clip_sample_range)
        return x

    def forward(self, obs: Dict[str, torch.Tensor], noise: Optional[torch.Tensor] = None,
                prefix: Optional[torch.Tensor] = None,
                prefix_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """obs {key: [B, To, D]} in physical units -> actions [B, Tp, Da] in physical units;
        ``prefix``/``prefix_weight`` (both or neither): guided hand-over (module docstring)."""
        nobs = self.normalize_obs(obs)
        cond = self.global_cond(nobs, None)
        batch = cond.shape[0]
        if noise is None:
            noise = torch.randn([batch, self.horizon, self.action_dim], dtype=cond.dtype,
                                device=cond.device)
        elif list(noise.shape) != [batch, self.horizon, self.action_dim]:
            raise ValueError('noise: expected shape [' + str(batch) + ', ' + str(self.horizon)
                             + ', ' + str(self.action_dim) + '], got ' + str(list(noise.shape)))
        if prefix is None or prefix_weight is None:
            if prefix is not None or prefix_weight is not None:
                raise ValueError('prefix and prefix_weight: give both or neither')
            return self.normalizer.unnormalize('action', self.conditional_sample(cond, noise))
        weight = check_guide(prefix, prefix_weight, batch, self.horizon, self.action_dim)
        target = self.normalizer.normalize('action', prefix.to(cond.dtype))
        return self.normalizer.unnormalize(
            'action', self.guided_sample(cond, noise, target, weight.to(cond.dtype)))
