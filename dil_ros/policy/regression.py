"""The MSE-regression baseline: an MLP from the To observations to the whole Tp x Da action chunk.

It shares the diffusion policy's normaliser and call signature (``forward(obs, noise)``, noise
ignored), so the trainer, export_policy and the policy node treat both alike. Trained with MSE, it
predicts the *mean* of the demonstrated chunks; on multimodal demonstrations that mean can be a
path no demonstrator took (straight through an obstacle they all went around).

With cameras it holds the same image encoders as the diffusion policy (``CameraEncoders``: resize,
crop, ResNet-18 trunk, spatial softmax; the run config's ``vision`` section), and the MLP reads
each step's camera features after the low-dim observations, so a comparison of the two on a task
seen through a camera differs only in the action head.
"""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from dil_ros.policy.config import PolicyError
from dil_ros.policy.normalizer import MinMaxNormalizer
from dil_ros.policy.vision_cameras import CameraEncoders
from dil_ros.policy.vision_encoder import VisionConfig
from dil_ros.policy.vision_preprocess import CameraSpec


@dataclass(frozen=True)
class RegressionConfig:
    """Hidden layer widths of the MLP (ReLU between layers)."""

    hidden_dims: Tuple[int, ...] = (256, 256, 256)

    def __post_init__(self):
        object.__setattr__(self, 'hidden_dims', tuple(self.hidden_dims))
        if not self.hidden_dims:
            raise ValueError('hidden_dims: must list at least one layer width')
        for i, dim in enumerate(self.hidden_dims):
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise ValueError(f'hidden_dims[{i}]: expected a positive int, got {dim!r}')


class RegressionPolicy(nn.Module):
    obs_keys: List[str]          # TorchScript types (the lists may be empty)
    obs_dims: Dict[str, int]

    def __init__(self, config: RegressionConfig, obs_dims: Mapping[str, int], action_dim: int,
                 stats: Mapping[str, Mapping[str, Sequence[float]]], n_obs_steps: int,
                 horizon: int, cameras: Sequence[CameraSpec] = (),
                 vision: Optional[VisionConfig] = None):
        super().__init__()
        if not obs_dims and not cameras:
            raise PolicyError('obs_dims: must list at least one observation key')
        needed = {**dict(obs_dims), 'action': int(action_dim)}
        for key in needed:
            if key not in stats:
                raise PolicyError(f'normaliser stats: {key}: missing (stats hold {sorted(stats)})')
        self.normalizer = MinMaxNormalizer({k: stats[k] for k in needed})
        self.obs_keys: List[str] = sorted(obs_dims)
        self.obs_dims: Dict[str, int] = {k: int(obs_dims[k]) for k in self.obs_keys}
        self.action_dim = int(action_dim)
        self.n_obs_steps = int(n_obs_steps)
        self.horizon = int(horizon)
        self.vision_config = vision or VisionConfig()
        self.cameras: List[CameraSpec] = sorted(cameras, key=lambda c: c.key)
        self.vision = CameraEncoders(self.cameras, self.n_obs_steps, self.vision_config)
        layers: List[nn.Module] = []
        width = (sum(self.obs_dims.values())
                 + len(self.vision) * self.vision.feature_dim) * self.n_obs_steps
        for hidden in config.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, self.horizon * self.action_dim))
        self.mlp = nn.Sequential(*layers)

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
    def predict_normalized(self, nobs: Dict[str, torch.Tensor],
                           crop_u: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Normalised observations {key: [B, To, D]} (and raw camera frames) -> normalised
        actions [B, Tp, Da]. ``crop_u`` [B, To, n_cameras, 2] (training) picks random crops;
        None: centre crops."""
        feats = [nobs[key] for key in self.obs_keys]
        feats.extend(self.vision(nobs, crop_u))
        x = torch.cat(feats, dim=-1)
        x = x.reshape(x.shape[0], -1)
        return self.mlp(x).reshape(x.shape[0], self.horizon, self.action_dim)

    def forward(self, obs: Dict[str, torch.Tensor],
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """obs {key: [B, To, D]} in physical units -> actions [B, Tp, Da]; ``noise`` is ignored."""
        actions = self.predict_normalized(self.normalize_obs(obs), None)
        return self.normalizer.unnormalize('action', actions)
