"""The scripted scorer that ``policy.monitor.ts`` holds: how expert-like is (observation, chunk)?

``MonitorModule(obs, actions) -> [B, 2]`` for observations in physical units (as policy.ts takes
them) and the chunk ``[B, Tp, Da]`` the policy just returned, in physical units:

- column 0, ``denoise``: the policy's own noise-prediction error on that chunk, conditioned on the
  same observations: the chunk is normalised, noised at a few fixed training timesteps with fixed
  noise draws (``q(x_t | x_0)`` as in training), and the U-Net's prediction compared with its
  target (the noise for 'epsilon', the chunk for 'sample'); mean squared error over the chunk,
  averaged over levels and draws. Low where the network was fitted (demonstration-like pairs),
  high off them (DRAIL, Lai et al. 2024; FAIL-Detect, 2025). All levels and draws run as one
  U-Net batch, so the cost is one network call of batch ``levels * draws``, not a sampling loop.
- column 1, ``novelty``: RMS distance (per dimension, normalised units) of the newest low-dim
  observation frame to the nearest training frame; 0 when no training frames were given.
- column 2, ``camera_novelty``, only for a policy with cameras given training camera features:
  the same distance for the policy's own camera features (its encoder's output) of the newest
  frame, so a blacked-out or covered camera is seen even where the low-dim state is ordinary.

The fixed draws make the scores a pure function of the inputs: policy.monitor.ts and the eager
module agree to float tolerance (test/monitor/test_scores.py).
"""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from dil_ros.policy.ddim import make_betas

SCORE_NAMES = ('denoise', 'novelty')     # columns of MonitorModule's output
CAMERA_NOVELTY = 'camera_novelty'         # a third column where camera features were given
DEFAULT_LEVELS = (0.1, 0.3, 0.5)         # fractions of num_train_timesteps
DEFAULT_DRAWS = 4


class MonitorModule(nn.Module):
    def __init__(self, policy: nn.Module, train_obs: Optional[np.ndarray] = None,
                 levels: Sequence[float] = DEFAULT_LEVELS, draws: int = DEFAULT_DRAWS,
                 seed: int = 0, train_camera: Optional[np.ndarray] = None):
        super().__init__()
        config = policy.config
        n = int(config.num_train_timesteps)
        steps = sorted({min(n - 1, max(0, int(round(f * n)))) for f in levels})
        alphas_cumprod = torch.cumprod(1.0 - make_betas(n, config.beta_schedule,
                                                        config.beta_start, config.beta_end), 0)
        gen = torch.Generator().manual_seed(int(seed))
        k = len(steps) * int(draws)
        t = torch.tensor([s for s in steps for _ in range(int(draws))], dtype=torch.long)
        self.policy = policy
        self.epsilon = config.prediction_type == 'epsilon'
        self.levels: List[int] = steps
        self.draws = int(draws)
        self.register_buffer('timesteps', t)
        self.register_buffer('sqrt_a', alphas_cumprod[t].sqrt())
        self.register_buffer('sqrt_b', (1.0 - alphas_cumprod[t]).sqrt())
        self.register_buffer('noise', torch.randn(k, policy.horizon, policy.action_dim,
                                                  generator=gen))
        lowdim = sum(policy.obs_dims.values())
        frames = torch.zeros(0, lowdim)
        if train_obs is not None and lowdim > 0:
            frames = torch.as_tensor(np.asarray(train_obs, dtype=np.float32)).reshape(-1, lowdim)
        self.register_buffer('train_obs', frames)   # normalised, obs_keys order
        self.lowdim = lowdim
        self.scale = 1.0 / math.sqrt(max(lowdim, 1))
        self.n_obs = int(policy.n_obs_steps)
        camera = torch.zeros(0, 1)
        if train_camera is not None and len(train_camera):
            camera = torch.as_tensor(np.asarray(train_camera, dtype=np.float32))
        self.register_buffer('train_camera', camera)
        self.camera: bool = bool(camera.shape[0] > 0)
        self.camera_scale = 1.0 / math.sqrt(max(int(camera.shape[1]), 1))

    def score_names(self) -> List[str]:
        """The output's columns, in order."""
        return list(SCORE_NAMES) + ([CAMERA_NOVELTY] if self.camera else [])

    def forward(self, obs: Dict[str, torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        policy = self.policy
        nobs = policy.normalize_obs(obs)
        cond = policy.global_cond(nobs, None)                             # [B, C]
        x0 = policy.normalizer.normalize('action', actions.to(cond.dtype))  # [B, Tp, Da]
        batch = x0.shape[0]
        k = self.timesteps.shape[0]
        x0k = x0.repeat_interleave(k, 0)                                  # [B * K, Tp, Da]
        eps = self.noise.repeat(batch, 1, 1)
        a = self.sqrt_a.repeat(batch).view(-1, 1, 1)
        b = self.sqrt_b.repeat(batch).view(-1, 1, 1)
        pred = policy.model(a * x0k + b * eps, self.timesteps.repeat(batch),
                            cond.repeat_interleave(k, 0))
        target = eps if self.epsilon else x0k
        denoise = ((pred - target) ** 2).mean(dim=(1, 2)).view(batch, k).mean(dim=1)
        novelty = torch.zeros_like(denoise)
        if self.lowdim > 0 and self.train_obs.shape[0] > 0:
            newest = torch.cat([nobs[key][:, -1, :] for key in policy.obs_keys], dim=-1)
            novelty = torch.cdist(newest, self.train_obs).min(dim=1).values * self.scale
        if self.camera:
            feats = cond.view(batch, self.n_obs, -1)[:, -1, self.lowdim:]
            camera = torch.cdist(feats, self.train_camera).min(dim=1).values * self.camera_scale
            return torch.stack([denoise, novelty, camera], dim=1)
        return torch.stack([denoise, novelty], dim=1)


def normalised_frames(policy: nn.Module, observations: Sequence[Dict[str, np.ndarray]],
                      max_frames: int = 20000, seed: int = 0) -> np.ndarray:
    """Training frames {key: [T, D]} per episode -> normalised [N, sum(D)] in the policy's
    ``obs_keys`` order (cameras ignored), at most ``max_frames`` (a fixed random subset)."""
    rows = []
    with torch.no_grad():
        for episode in observations:
            parts = [policy.normalizer.normalize(key, torch.as_tensor(
                np.asarray(episode[key], dtype=np.float32))) for key in policy.obs_keys]
            rows.append(torch.cat(parts, dim=-1).numpy())
    frames = np.concatenate(rows) if rows else np.zeros((0, sum(policy.obs_dims.values())))
    if len(frames) > max_frames:
        frames = frames[np.random.default_rng(seed).choice(len(frames), max_frames, False)]
    return frames.astype(np.float32)


def camera_features(policy: nn.Module, episodes: Sequence[Dict[str, np.ndarray]],
                    max_frames: int = 3000, seed: int = 0, batch: int = 128) -> np.ndarray:
    """The policy's camera features [N, F] of training frames ({key: [T, ...]} per episode, camera
    frames [T, H, W, 3] uint8), each with its own observation window, at most ``max_frames`` (a
    fixed random subset): what ``camera_novelty`` compares the newest frame with."""
    keys = list(policy.obs_keys) + list(policy.vision.keys)
    to = int(policy.n_obs_steps)
    index = [(e, t) for e, ep in enumerate(episodes) for t in range(len(ep[keys[-1]]))]
    if len(index) > max_frames:
        pick = np.random.default_rng(seed).choice(len(index), max_frames, False)
        index = [index[i] for i in sorted(pick)]
    lowdim = sum(policy.obs_dims.values())
    out = []
    with torch.no_grad():
        for start in range(0, len(index), batch):
            obs = {k: [] for k in keys}
            for e, t in index[start:start + batch]:
                ep = episodes[e]
                rows = np.clip(np.arange(t - to + 1, t + 1), 0, len(ep[keys[-1]]) - 1)
                for k in keys:
                    obs[k].append(np.asarray(ep[k])[rows])
            tensors = {k: torch.as_tensor(np.stack(v)) for k, v in obs.items()}
            for k in policy.obs_keys:
                tensors[k] = tensors[k].float()
            cond = policy.global_cond(policy.normalize_obs(tensors), None)
            out.append(cond.view(cond.shape[0], to, -1)[:, -1, lowdim:].numpy())
    return np.concatenate(out).astype(np.float32)
