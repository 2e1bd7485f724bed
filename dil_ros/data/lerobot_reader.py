"""Read LeRobot v3.0 datasets: ours and LeRobot's own.

Data may be spread over several files and chunks; episodes are located through
meta/episodes/*.parquet. Video features (cameras) decode to uint8 ``[T, H, W, 3]``
(lerobot_video.py); image features (PNG per frame) are not read.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dil_ros.data import lerobot_format as fmt
from dil_ros.data.episode import Episode, EpisodeError
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.lerobot_meta import (  # noqa: F401 - read_info is public here too
    read_episode_rows, read_info, read_json, read_parquet, read_tasks)
from dil_ros.data.lerobot_video import read_video_feature
from dil_ros.data.stats import STAT_NAMES, compute_stats

PathLike = Union[str, Path]


@dataclass
class Dataset:
    """A loaded dataset: episodes in physical units plus what the trainer and artifact need."""

    root: Path
    episodes: List[Episode]
    fps: float
    stats: Dict[str, Dict[str, np.ndarray]]
    features: Dict[str, Dict[str, Any]]
    info: Dict[str, Any]
    obs_keys: List[str]
    fingerprint: str
    tasks: List[str] = field(default_factory=list)

    @property
    def action_dim(self) -> int:
        return fmt.feature_dim(self.features['action'])

    @property
    def image_keys(self) -> List[str]:
        return [k for k in self.obs_keys if self.features[k].get('dtype') == 'video']

    @property
    def lowdim_keys(self) -> List[str]:
        return [k for k in self.obs_keys if self.features[k].get('dtype') != 'video']

    @property
    def obs_dims(self) -> Dict[str, int]:
        """Low-dim keys only (as Contract.obs_dims); cameras are in image_shapes."""
        return {key: fmt.feature_dim(self.features[key]) for key in self.lowdim_keys}

    @property
    def image_shapes(self) -> Dict[str, tuple]:
        """Each camera's native frame shape (H, W, 3) as stored."""
        return {key: tuple(self.features[key]['shape']) for key in self.image_keys}

    @property
    def num_frames(self) -> int:
        return sum(len(ep) for ep in self.episodes)

    def names(self, key: str) -> Optional[List[str]]:
        """Per-dimension names of a feature (joint names), or None."""
        return fmt.feature_names(self.features[key])


def read_dataset(root: PathLike, keys: Optional[Sequence[str]] = None,
                 images: bool = True) -> Dataset:
    """Load a LeRobot v3.0 dataset.

    ``keys`` picks observation keys (default: every ``observation.*`` feature, cameras only
    with ``images``; image features, PNG per frame, are skipped). Only the picked keys and the
    action are read; a camera's video is decoded once to uint8 ``[T, H, W, 3]`` per episode
    (for training, dil_ros.data.frame_cache keeps them decoded on disk instead).
    """
    root = Path(root)
    info = read_info(root)
    features = info['features']
    obs_keys = _select_obs_keys(root, features, keys, images)
    video_keys = [k for k in obs_keys if features[k].get('dtype') == 'video']
    low_dim = [k for k in obs_keys if k not in video_keys]
    tasks = read_tasks(root)
    ep_rows = read_episode_rows(root)
    data_files = _data_files(root, info, ep_rows)
    columns = low_dim + ['action', 'timestamp', 'episode_index', 'index', 'task_index']
    table = _read_data(root, data_files, columns)
    frames = {key: read_video_feature(root, info, ep_rows, key) for key in video_keys}
    episodes = _split_episodes(root, table, low_dim, ep_rows, tasks, frames)
    stats = _read_stats(root, episodes, low_dim)
    return Dataset(root=root, episodes=episodes, fps=float(info['fps']), stats=stats,
                   features=features, info=info, obs_keys=obs_keys,
                   fingerprint=_fingerprint(root, data_files), tasks=tasks)


def _select_obs_keys(root: Path, features: Dict, keys: Optional[Sequence[str]],
                     images: bool) -> List[str]:
    visual = [k for k, ft in features.items() if ft.get('dtype') in fmt.VISUAL_DTYPES]
    videos = [k for k in visual if features[k].get('dtype') == 'video']
    low_dim = [k for k, ft in features.items()
               if k.startswith('observation.') and ft.get('dtype') not in fmt.VISUAL_DTYPES]
    act = features['action']
    if act.get('dtype') in fmt.VISUAL_DTYPES or len(act.get('shape') or [1]) != 1:
        raise DatasetError(f'{root / fmt.INFO_PATH}: action must be a 1-D numeric feature')
    if keys is None:
        keys = [k for k in features if k in low_dim or (images and k in videos)]
        if not keys and visual:
            raise DatasetError(f'{root / fmt.INFO_PATH}: no observation.* features to read; '
                               f'skipped: {", ".join(visual)}')
    keys = list(keys)
    for key in keys:
        if key not in features:
            raise DatasetError(f'{root / fmt.INFO_PATH}: no feature {key!r} (observation keys: '
                               f'{low_dim + videos})')
        if key in videos:
            shape = features[key].get('shape')
            if not (isinstance(shape, list) and len(shape) == 3 and shape[2] == 3):
                raise DatasetError(f'{root / fmt.INFO_PATH}: video feature {key!r} must have '
                                   f'shape [height, width, 3], got {shape}')
            continue
        if key in visual:
            raise DatasetError(f'{root / fmt.INFO_PATH}: feature {key!r} is '
                               f'{features[key]["dtype"]} (PNG frames), not supported; '
                               'video features are')
        if len(features[key].get('shape') or [1]) != 1:
            raise DatasetError(f'{root / fmt.INFO_PATH}: feature {key!r} must be 1-D, shape '
                               f'{features[key]["shape"]}')
    if not keys:
        raise DatasetError(f'{root / fmt.INFO_PATH}: no observation.* features to read')
    return keys


def _data_files(root: Path, info: Dict, ep_rows: List[Dict]) -> List[Path]:
    template = info.get('data_path') or fmt.DEFAULT_DATA_PATH
    if all('data/chunk_index' in r and 'data/file_index' in r for r in ep_rows):
        pairs = sorted({(r['data/chunk_index'], r['data/file_index']) for r in ep_rows})
        return [root / template.format(chunk_index=c, file_index=f) for c, f in pairs]
    files = sorted((root / fmt.DATA_DIR).glob('chunk-*/file-*.parquet'))
    if not files:
        raise DatasetError(f'{root / fmt.DATA_DIR}: no data files (chunk-XXX/file-XXX.parquet)')
    return files


def _read_data(root: Path, files: List[Path], columns: List[str]) -> pa.Table:
    tables = []
    for path in files:
        if not path.is_file():
            raise DatasetError(f'{path}: data file not found')
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f'{path}: cannot read parquet: {exc}') from None
        missing = [c for c in columns if c not in names]
        if missing:
            raise DatasetError(f'{path}: missing columns {missing}')
        table = read_parquet(path, columns)
        tables.append(table.select(columns))
    try:
        table = pa.concat_tables(tables, promote_options='permissive')
    except pa.ArrowException as exc:
        raise DatasetError(f'{root / fmt.DATA_DIR}: data files disagree in schema: {exc}'
                           ) from None
    return table.sort_by('index')


def _column_2d(table: pa.Table, key: str, path: Path) -> np.ndarray:
    col = table[key].combine_chunks()
    n = len(col)
    if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type) \
            or pa.types.is_large_list(col.type):
        flat = col.flatten().to_numpy(zero_copy_only=False)
        if n and flat.size % n:
            raise DatasetError(f'{path}: column {key!r} has rows of different lengths')
        return flat.reshape(n, -1 if n else 0).astype(np.float32)
    return col.to_numpy(zero_copy_only=False).astype(np.float32).reshape(n, 1)


def _split_episodes(root: Path, table: pa.Table, obs_keys: List[str], ep_rows: List[Dict],
                    tasks: List[str], frames: Dict[str, Dict[int, np.ndarray]]
                    ) -> List[Episode]:
    data_dir = root / fmt.DATA_DIR
    arrays = {key: _column_2d(table, key, data_dir) for key in obs_keys + ['action']}
    ep_index = table['episode_index'].to_numpy()
    ts = table['timestamp'].to_numpy().astype(np.float64)
    task_index = table['task_index'].to_numpy()
    order = np.argsort(ep_index, kind='stable')  # rows of one episode, in 'index' order
    sorted_ep = ep_index[order]
    episodes = []
    for row in ep_rows:
        idx = row['episode_index']
        lo, hi = np.searchsorted(sorted_ep, idx, 'left'), np.searchsorted(sorted_ep, idx, 'right')
        sel = order[lo:hi]
        if len(sel) != row['length']:
            raise DatasetError(f'{data_dir}: episode {idx} has {len(sel)} frames but '
                               f'{fmt.EPISODES_DIR} says {row["length"]}')
        if len(sel) == 0:
            continue
        t_idx = int(task_index[sel[0]])
        task = tasks[t_idx] if 0 <= t_idx < len(tasks) else ''
        meta = row.get(fmt.METADATA_COLUMN)
        try:
            episodes.append(Episode(
                observations={**{k: arrays[k][sel] for k in obs_keys},
                              **{k: f[idx] for k, f in frames.items()}},
                action=arrays['action'][sel],
                timestamps=ts[sel] - ts[sel[0]], task=task,
                metadata=json.loads(meta) if meta else {}))
        except EpisodeError as exc:
            raise DatasetError(f'{data_dir}: episode {idx}: {exc}') from None
    if not episodes:
        raise DatasetError(f'{root}: dataset has no frames')
    return episodes


def _read_stats(root: Path, episodes: List[Episode], obs_keys: List[str]) -> Dict:
    path = root / fmt.STATS_PATH
    stats: Dict[str, Dict[str, np.ndarray]] = {}
    if path.exists():
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise DatasetError(f'{path}: expected a JSON object')
        for key, entry in raw.items():
            if isinstance(entry, dict):
                stats[key] = {s: np.asarray(v) for s, v in entry.items()}
    needed = ['action'] + obs_keys
    if any(k not in stats or any(s not in stats[k] for s in STAT_NAMES[:4]) for k in needed):
        computed = compute_stats(episodes)
        for key in needed:
            stats.setdefault(key, {})
            for stat, value in computed[key].items():
                stats[key].setdefault(stat, value)
    return stats


def _fingerprint(root: Path, files: List[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b'\0')
        with open(path, 'rb') as fh:
            for block in iter(lambda: fh.read(1 << 20), b''):
                digest.update(block)
    return digest.hexdigest()
