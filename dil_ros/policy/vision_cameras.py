"""Every camera of a policy: raw uint8 frames -> per-step features for the U-Net's condition.

``CameraEncoders(cameras, n_obs_steps, config)`` holds, per camera key (sorted), an
``ImagePreprocess`` and a ``VisionEncoder`` (one shared by all cameras with
``config.share_encoder``; then every camera must give the encoder the same input size).
``forward(obs, crop_u)`` returns one ``[B, To, F]`` tensor per camera, in key order, that the
policy concatenates with its normalised low-dim observations. A policy without cameras holds an
empty ``CameraEncoders`` and returns nothing.
"""

from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from dil_ros.policy.config import PolicyError
from dil_ros.policy.normalizer import _module_name
from dil_ros.policy.vision_encoder import VisionConfig, VisionEncoder
from dil_ros.policy.vision_preprocess import CameraSpec, ImagePreprocess


class _Camera(nn.Module):
    def __init__(self, camera: CameraSpec, encoder: VisionEncoder):
        super().__init__()
        self.key = camera.key
        self.preprocess = ImagePreprocess(camera)
        self.encoder = encoder

    def forward(self, frames: torch.Tensor, crop_u: Optional[torch.Tensor]) -> torch.Tensor:
        """uint8 [B, To, H, W, 3] -> [B, To, F]."""
        feats = self.encoder(self.preprocess(frames, crop_u))
        return feats.reshape(frames.shape[0], frames.shape[1], feats.shape[-1])


class CameraEncoders(nn.Module):
    keys: List[str]              # TorchScript type (empty without cameras)

    def __init__(self, cameras: Sequence[CameraSpec], n_obs_steps: int,
                 config: Optional[VisionConfig] = None):
        super().__init__()
        config = config or VisionConfig()
        self.n_obs_steps = int(n_obs_steps)
        cameras = sorted(cameras, key=lambda c: c.key)
        self.keys: List[str] = [c.key for c in cameras]
        if len(set(self.keys)) != len(self.keys):
            raise PolicyError(f'cameras: keys repeat: {self.keys}')
        self.feature_dim = config.feature_dim if cameras else 0
        shared: Optional[VisionEncoder] = None
        if cameras and config.share_encoder:
            sizes = {c.input_size for c in cameras}
            if len(sizes) > 1:
                raise PolicyError(f'{config.source}: share_encoder: the cameras give the encoder '
                                  f'different sizes {sorted(sizes)} (height/width or crop)')
            shared = VisionEncoder(config, *cameras[0].input_size)
        self.cameras = nn.ModuleDict({
            _module_name(c.key): _Camera(c, shared or VisionEncoder(config, *c.input_size))
            for c in cameras})

    def __len__(self) -> int:
        return len(self.keys)

    def forward(self, obs: Dict[str, torch.Tensor], crop_u: Optional[torch.Tensor] = None
                ) -> List[torch.Tensor]:
        """``crop_u`` [B, To, n_cameras, 2] uniform draws for random crops; None: centre."""
        out: List[torch.Tensor] = []
        i = 0
        for _, camera in self.cameras.items():
            if camera.key not in obs:
                raise KeyError('missing observation key ' + camera.key)
            frames = obs[camera.key]
            if frames.dim() != 5 or frames.shape[1] != self.n_obs_steps:
                raise ValueError('observation ' + camera.key + ': expected frames [B, '
                                 + str(self.n_obs_steps) + ', H, W, 3], got '
                                 + str(list(frames.shape)))
            u: Optional[torch.Tensor] = None
            if crop_u is not None:
                u = crop_u[:, :, i]
            out.append(camera(frames, u))
            i += 1
        return out
