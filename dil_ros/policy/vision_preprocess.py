"""Camera frames -> encoder input: resize, crop, ImageNet normalisation (Chi et al.'s pipeline).

A camera delivers uint8 RGB frames ``[B, To, H, W, 3]`` at its native size. ``ImagePreprocess``
turns them into ``[B * To, 3, h, w]`` float32:

1. ``/ 255`` and channels first;
2. resize to the contract's (height, width) with ``F.interpolate(mode='bilinear',
   align_corners=False, antialias=False)`` when the native size differs;
3. crop to ``crop`` (h, w): a random window in training (the offsets come in as uniform draws, so
   the training loop's generator decides them and a resumed run crops alike), the centre window
   otherwise (robomimic's CropRandomizer, as Chi et al. use it);
4. ImageNet mean/std normalisation (what a ResNet expects).

Training stores frames already resized by ``resize_frames`` (the same interpolate call, rounded
back to uint8), so step 2 is a no-op there and the policy sees at run time what it was trained on.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dil_ros.policy.config import PolicyError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CameraSpec:
    """What a policy depends on of one camera: its input size and optional crop (h, w)."""

    key: str
    height: int
    width: int
    crop: Tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, 'crop', tuple(int(c) for c in (self.crop or ())))
        for name in ('height', 'width'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PolicyError(f'{self.key}: {name}: expected a positive int, got {value!r}')
        if self.crop and (len(self.crop) != 2 or not 1 <= self.crop[0] <= self.height
                          or not 1 <= self.crop[1] <= self.width):
            raise PolicyError(f'{self.key}: crop: expected [h, w] within {self.height}x'
                              f'{self.width}, got {list(self.crop)}')

    @property
    def input_size(self) -> Tuple[int, int]:
        """(h, w) the encoder sees: the crop, or the full resized frame."""
        return (self.crop[0], self.crop[1]) if self.crop else (self.height, self.width)

    @classmethod
    def from_observation(cls, key: str, spec) -> 'CameraSpec':
        """From a contract ObservationSpec with ``height``, ``width`` and ``crop``."""
        return cls(key, int(spec.height), int(spec.width), tuple(spec.crop or ()))

    def to_mapping(self):
        return {'height': self.height, 'width': self.width, 'crop': list(self.crop)}


def resize_images(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """float ``[N, C, H, W]`` -> ``[N, C, height, width]`` (unchanged when the size matches)."""
    if x.shape[-2] == height and x.shape[-1] == width:
        return x
    return F.interpolate(x, size=[height, width], mode='bilinear', align_corners=False,
                         antialias=False)


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 ``[N, H, W, 3]`` -> uint8 ``[N, height, width, 3]`` through ``resize_images``.

    The value scale (/255 and back) is the model's, so a cached frame is the model's own resize
    rounded to the nearest uint8 level.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise PolicyError(f'resize_frames: expected uint8 [N, H, W, C], got {frames.dtype} '
                          f'{list(frames.shape)}')
    if frames.shape[1:3] == (height, width):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    y = resize_images(x, height, width)
    y = (y * 255.0).round().clamp(0, 255).to(torch.uint8)
    return y.permute(0, 2, 3, 1).contiguous().numpy()


class ImagePreprocess(nn.Module):
    """uint8 ``[B, To, H, W, 3]`` (any H, W) -> normalised float ``[B * To, 3, h, w]``."""

    def __init__(self, camera: CameraSpec):
        super().__init__()
        self.key = camera.key
        self.height = camera.height
        self.width = camera.width
        self.crop_h, self.crop_w = camera.input_size
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))

    def forward(self, frames: torch.Tensor, crop_u: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``crop_u`` (uniform [B, To, 2] in [0, 1)) picks random crop offsets; None: centre."""
        if frames.dim() != 5 or frames.shape[-1] != 3:
            raise ValueError('observation ' + self.key + ': expected frames [B, To, H, W, 3], '
                             'got ' + str(list(frames.shape)))
        if frames.dtype != torch.uint8:
            raise ValueError('observation ' + self.key + ': expected uint8 frames, got '
                             + str(frames.dtype))
        n = frames.shape[0] * frames.shape[1]
        x = frames.reshape(n, frames.shape[2], frames.shape[3], 3).permute(0, 3, 1, 2)
        x = resize_images(x.float() / 255.0, self.height, self.width)
        if self.crop_h != self.height or self.crop_w != self.width:
            x = self._crop(x, crop_u)
        return (x - self.mean) / self.std

    def _crop(self, x: torch.Tensor, crop_u: Optional[torch.Tensor]) -> torch.Tensor:
        room_h = self.height - self.crop_h
        room_w = self.width - self.crop_w
        if crop_u is None:
            top = room_h // 2
            left = room_w // 2
            return x[:, :, top:top + self.crop_h, left:left + self.crop_w]
        u = crop_u.reshape(-1, 2).to(x.device)
        top = (u[:, 0] * (room_h + 1)).floor().long().clamp(0, room_h)
        left = (u[:, 1] * (room_w + 1)).floor().long().clamp(0, room_w)
        rows = top[:, None] + torch.arange(self.crop_h, device=x.device)[None]
        cols = left[:, None] + torch.arange(self.crop_w, device=x.device)[None]
        batch = torch.arange(x.shape[0], device=x.device)
        # [N, C, H, W] indexed by (n, rows, cols) -> [N, h, w, C]
        nhwc = x.permute(0, 2, 3, 1)
        out = nhwc[batch[:, None, None], rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2)
