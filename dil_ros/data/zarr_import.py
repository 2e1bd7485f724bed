"""Import a Diffusion Policy (Chi et al.) zarr replay buffer as a LeRobot v3.0 dataset.

A replay buffer holds ``data/<key>`` arrays concatenated over episodes and ``meta/episode_ends``
(exclusive end index of each episode). Chi's buffers are zarr format 2, as a directory or a
``.zip``; zarr 3 opens both formats.
"""

from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import zarr

from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import write_dataset
from dil_ros.data.lerobot_format import DatasetError

DEFAULT_OBS_KEYS = {'state': 'observation.state'}


def open_replay_buffer(path: Union[str, Path]) -> zarr.Group:
    """Open a replay buffer (directory or .zip, zarr format 2 or 3) read-only."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f'{path}: zarr replay buffer not found')
    try:
        if path.is_file() and path.suffix == '.zip':
            store = zarr.storage.ZipStore(path, mode='r')
            return zarr.open_group(store, mode='r')
        return zarr.open_group(str(path), mode='r')
    except Exception as exc:  # noqa: BLE001 - zarr raises many types for a broken store
        raise DatasetError(f'{path}: not a readable zarr group: {exc}') from None


def _array(root: zarr.Group, name: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(root[name][...])
    except KeyError:
        raise DatasetError(f'{path}: no array {name!r}') from None


def load_replay_episodes(path: Union[str, Path], obs_keys: Optional[Dict[str, str]] = None,
                         action_key: str = 'action', fps: float = 10.0,
                         task: str = '') -> List[Episode]:
    """Split a replay buffer into episodes. ``obs_keys`` maps zarr keys to observation keys."""
    path = Path(path)
    root = open_replay_buffer(path)
    try:
        available = sorted(root['data'].array_keys())
    except KeyError:
        raise DatasetError(f'{path}: no data/ group (not a replay buffer)') from None
    obs_keys = dict(obs_keys or DEFAULT_OBS_KEYS)
    for zkey in list(obs_keys) + [action_key]:
        if zkey not in available:
            raise DatasetError(f'{path}: no array data/{zkey} (available: {available})')
    ends = _array(root, 'meta/episode_ends', path).astype(np.int64).reshape(-1)
    action = _low_dim(_array(root, f'data/{action_key}', path), f'data/{action_key}', path)
    obs = {okey: _low_dim(_array(root, f'data/{zkey}', path), f'data/{zkey}', path)
           for zkey, okey in obs_keys.items()}
    n = action.shape[0]
    if len(ends) == 0 or np.any(np.diff(ends) <= 0) or ends[0] <= 0 or ends[-1] > n:
        raise DatasetError(f'{path}: meta/episode_ends must increase from > 0 to <= {n} frames, '
                           f'got {ends[:5].tolist()}...{ends[-1:].tolist()}')
    for key, arr in obs.items():
        if arr.shape[0] != n:
            raise DatasetError(f'{path}: {key} has {arr.shape[0]} frames, action has {n}')
    episodes = []
    start = 0
    for i, end in enumerate(ends):
        episodes.append(Episode(
            observations={k: v[start:end] for k, v in obs.items()}, action=action[start:end],
            timestamps=np.arange(end - start) / fps, task=task,
            metadata={'source': str(path), 'source_episode': i}))
        start = int(end)
    return episodes


def _low_dim(arr: np.ndarray, name: str, path: Path) -> np.ndarray:
    if arr.ndim >= 4 or arr.dtype == np.uint8 and arr.ndim >= 3:
        raise DatasetError(f'{path}: {name} looks like images (shape {arr.shape}); image '
                           'features are not supported yet, import the low-dimensional keys')
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise DatasetError(f'{path}: {name} has non-numeric dtype {arr.dtype}')
    return arr.reshape(arr.shape[0], -1).astype(np.float32)


def import_zarr(zarr_path: Union[str, Path], out: Union[str, Path],
                obs_keys: Optional[Dict[str, str]] = None, action_key: str = 'action',
                fps: float = 10.0, task: str = '', overwrite: bool = False) -> Path:
    """Convert a replay buffer into a LeRobot v3.0 dataset at ``out``; returns ``out``."""
    episodes = load_replay_episodes(zarr_path, obs_keys, action_key, fps, task)
    return write_dataset(out, episodes, fps=fps, overwrite=overwrite)
