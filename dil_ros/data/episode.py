"""One demonstration episode on the policy grid: observations, actions and time stamps."""

from dataclasses import dataclass, field
from typing import Any, Dict

import numpy as np

from dil_ros.contract_model import IMAGE_PREFIX
from dil_ros.errors import DilRosError


class EpisodeError(DilRosError, ValueError):
    """An episode's arrays disagree in length or shape; the message names the key."""


@dataclass
class Episode:
    """Arrays of one episode, all with the same number of frames ``T``.

    observations: ``{key: [T, D] float32}`` in physical units, keys like ``observation.state``;
    cameras (``observation.images.<camera>``) as uint8 RGB frames ``[T, H, W, 3]`` at the
    camera's native size.
    action: ``[T, Da] float32``; timestamps: ``[T] float64`` seconds from episode start.
    """

    observations: Dict[str, np.ndarray]
    action: np.ndarray
    timestamps: np.ndarray
    task: str = ''
    metadata: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.action = _as_2d(self.action, 'action')
        length = self.action.shape[0]
        obs = {}
        for key, value in self.observations.items():
            arr = _as_frames(value, key) if key.startswith(IMAGE_PREFIX) else _as_2d(value, key)
            if arr.shape[0] != length:
                raise EpisodeError(f'{key}: {arr.shape[0]} frames but action has {length}')
            obs[key] = arr
        self.observations = obs
        self.timestamps = np.asarray(self.timestamps, dtype=np.float64).reshape(-1)
        if self.timestamps.shape[0] != length:
            raise EpisodeError(f'timestamps: {self.timestamps.shape[0]} frames but action has '
                               f'{length}')
        if length > 1 and not np.all(np.diff(self.timestamps) > 0):
            raise EpisodeError('timestamps: must be strictly increasing')
        self.task = str(self.task or '')
        self.metadata = dict(self.metadata or {})

    def __len__(self) -> int:
        return int(self.action.shape[0])

    @property
    def obs_keys(self):
        return list(self.observations)

    @property
    def image_keys(self):
        return [key for key in self.observations if key.startswith(IMAGE_PREFIX)]

    @property
    def lowdim_keys(self):
        return [key for key in self.observations if not key.startswith(IMAGE_PREFIX)]


def _as_2d(value, key: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise EpisodeError(f'{key}: expected a [T, D] array, got shape {arr.shape}')
    if not np.all(np.isfinite(arr)):
        raise EpisodeError(f'{key}: contains NaN or infinite values')
    return np.ascontiguousarray(arr)


def _as_frames(value, key: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise EpisodeError(f'{key}: camera frames must be uint8, got {arr.dtype}')
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise EpisodeError(f'{key}: expected [T, H, W, 3] RGB frames, got shape {arr.shape}')
    return arr
