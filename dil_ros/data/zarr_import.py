"""Import a Diffusion Policy (Chi et al.) zarr replay buffer as a LeRobot v3.0 dataset.

A replay buffer holds ``data/<key>`` arrays concatenated over episodes and ``meta/episode_ends``
(exclusive end index of each episode). Chi's buffers are zarr format 2, as a directory or a
``.zip``; zarr 3 opens both formats. A buffer carries no frame rate: Chi's Push-T is recorded at
10 Hz, the default here.

Beside the data, ``DATASET/contract.yaml`` describes it as a dataset-only contract (observation
keys with per-dimension names, no topics; see dil_ros/contract.py) with Chi's Push-T timeline
(To 2, Tp 16, Ta 8) and action limits taken from the data, so ``dil-ros train`` runs on it
without further files. Dimensions are named ``<zarr key>_<i>`` in the dataset and the contract.

Cameras: a zarr key mapped to ``observation.images.<name>`` (for Chi's Push-T ``img``, float
0..255 ``[N, H, W, 3]``: ``--obs-key img=observation.images.img``) becomes a camera, stored as a
video feature, and the contract lists it with the array's height and width. Frames are rounded to
uint8 one episode at a time (Push-T's images are 2.8 GB as float32).
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import yaml
import zarr

from dil_ros.atomic import atomic_file
from dil_ros.contract_model import IMAGE_PREFIX
from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import write_dataset
from dil_ros.data.lerobot_format import DatasetError

DEFAULT_OBS_KEYS = {'state': 'observation.state'}
DEFAULT_FPS = 10.0                      # Chi et al.'s Push-T
CONTRACT_FILE = 'contract.yaml'
TIMELINE = {'n_obs_steps': 2, 'horizon': 16, 'n_action_steps': 8}   # Chi's Push-T low-dim
LIMIT_MARGIN = 0.1                      # widen the data's range by 10 % on each side


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
           for zkey, okey in obs_keys.items() if not okey.startswith(IMAGE_PREFIX)}
    images = {okey: _image_array(root[f'data/{zkey}'], f'data/{zkey}', path)
              for zkey, okey in obs_keys.items() if okey.startswith(IMAGE_PREFIX)}
    n = action.shape[0]
    if len(ends) == 0 or np.any(np.diff(ends) <= 0) or ends[0] <= 0 or ends[-1] > n:
        raise DatasetError(f'{path}: meta/episode_ends must increase from > 0 to <= {n} frames, '
                           f'got {ends[:5].tolist()}...{ends[-1:].tolist()}')
    for key, arr in list(obs.items()) + list(images.items()):
        if arr.shape[0] != n:
            raise DatasetError(f'{path}: {key} has {arr.shape[0]} frames, action has {n}')
    episodes = []
    start = 0
    for i, end in enumerate(ends):
        frames = {k: _to_uint8(v[start:end], k, path) for k, v in images.items()}
        episodes.append(Episode(
            observations={**{k: v[start:end] for k, v in obs.items()}, **frames},
            action=action[start:end],
            timestamps=np.arange(end - start) / fps, task=task,
            metadata={'source': str(path), 'source_episode': i}))
        start = int(end)
    return episodes


def _image_array(arr, name: str, path: Path):
    """The zarr array of a camera (read an episode at a time), checked to be [N, H, W, 3]."""
    if len(arr.shape) != 4 or arr.shape[-1] != 3:
        raise DatasetError(f'{path}: {name} has shape {tuple(arr.shape)}; a camera needs '
                           '[N, height, width, 3] (RGB, channels last)')
    return arr


def _to_uint8(frames, key: str, path: Path) -> np.ndarray:
    """Float 0..255 (Chi's) or uint8 frames -> uint8, rounded; values outside 0..255 refused."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    if frames.size and (frames.min() < -0.5 or frames.max() > 255.5):
        raise DatasetError(f'{path}: {key}: pixel values span {frames.min():g}..'
                           f'{frames.max():g}; expected 0..255')
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _low_dim(arr: np.ndarray, name: str, path: Path) -> np.ndarray:
    if arr.ndim >= 4 or arr.dtype == np.uint8 and arr.ndim >= 3:
        raise DatasetError(f'{path}: {name} looks like images (shape {arr.shape}); map it to '
                           f'a camera key ({name.split("/")[-1]}=observation.images.<name>)')
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise DatasetError(f'{path}: {name} has non-numeric dtype {arr.dtype}')
    return arr.reshape(arr.shape[0], -1).astype(np.float32)


def dimension_names(zarr_key: str, dim: int) -> List[str]:
    return [f'{zarr_key}_{i}' for i in range(dim)]


def replay_contract(name: str, episodes: List[Episode], obs_keys: Dict[str, str],
                    action_key: str, fps: float) -> Dict[str, Any]:
    """A dataset-only contract mapping for imported episodes (see the module docstring)."""
    action = np.concatenate([ep.action for ep in episodes]).astype(np.float64)
    joints = dimension_names(action_key, action.shape[1])
    steps = [np.abs(np.diff(ep.action, axis=0)).max(axis=0) for ep in episodes if len(ep) > 1]
    speed = np.max(steps, axis=0) * fps if steps else np.zeros(action.shape[1])
    lo, hi = action.min(axis=0), action.max(axis=0)
    pad = np.maximum(LIMIT_MARGIN * (hi - lo), 1e-3)
    limits = {j: {'lower': float(lo[i] - pad[i]), 'upper': float(hi[i] + pad[i]),
                  'max_velocity': float(speed[i] * (1 + LIMIT_MARGIN) or 1.0)}
              for i, j in enumerate(joints)}
    first = episodes[0].observations
    return {'name': name, 'rate_hz': float(fps), **TIMELINE,
            'observations': {okey: {'height': first[okey].shape[1],
                                    'width': first[okey].shape[2]}
                             if okey.startswith(IMAGE_PREFIX)
                             else {'names': dimension_names(zkey, first[okey].shape[1])}
                             for zkey, okey in obs_keys.items()},
            'action': {'joints': joints}, 'limits': limits}


def import_zarr(zarr_path: Union[str, Path], out: Union[str, Path],
                obs_keys: Optional[Dict[str, str]] = None, action_key: str = 'action',
                fps: float = DEFAULT_FPS, task: str = '', overwrite: bool = False) -> Path:
    """Convert a replay buffer into a LeRobot v3.0 dataset at ``out``, with its contract.yaml
    beside the data; returns ``out``."""
    from dil_ros.contract import contract_from_mapping
    obs_keys = dict(obs_keys or DEFAULT_OBS_KEYS)
    episodes = load_replay_episodes(zarr_path, obs_keys, action_key, fps, task)
    name = Path(zarr_path).name.split('.')[0] or 'replay_buffer'
    mapping = replay_contract(name, episodes, obs_keys, action_key, fps)
    contract = contract_from_mapping(mapping, f'{out}/{CONTRACT_FILE}')
    names = {key: spec.names for key, spec in contract.observations.items()
             if not spec.is_image}
    names['action'] = list(contract.action.joints)
    out = write_dataset(out, episodes, fps=fps, names=names, overwrite=overwrite)
    header = (f'# Dataset-only contract of {out}, imported from {zarr_path} by dil-ros '
              'import-zarr.\n# Timeline: Chi et al.\'s Push-T; limits: the data\'s range '
              'widened by 10 %. Edit freely.\n')
    with atomic_file(Path(out) / CONTRACT_FILE) as tmp:
        tmp.write_text(header + yaml.safe_dump(contract.to_mapping(), sort_keys=False))
    return out
