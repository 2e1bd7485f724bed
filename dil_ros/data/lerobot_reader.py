"""Read LeRobot v3.0 datasets of low-dimensional features: ours and LeRobot's own.

Data may be spread over several files and chunks; episodes are located through
meta/episodes/*.parquet. Image and video features are skipped (not read yet).
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
    def obs_dims(self) -> Dict[str, int]:
        return {key: fmt.feature_dim(self.features[key]) for key in self.obs_keys}

    @property
    def num_frames(self) -> int:
        return sum(len(ep) for ep in self.episodes)

    def names(self, key: str) -> Optional[List[str]]:
        """Per-dimension names of a feature (joint names), or None."""
        return fmt.feature_names(self.features[key])



def read_dataset(root: PathLike, keys: Optional[Sequence[str]] = None) -> Dataset:
    """Load a LeRobot v3.0 dataset of low-dimensional features.

    ``keys`` picks observation keys (default: every low-dimensional ``observation.*`` feature;
    image and video features are skipped, since no policy here reads them yet). Only the picked
    keys and the action are read; naming an image or video key is a DatasetError.
    """
    root = Path(root)
    info = read_info(root)
    features = info['features']
    obs_keys = _select_obs_keys(root, features, keys)
    tasks = _read_tasks(root)
    ep_rows = _read_episode_rows(root)
    data_files = _data_files(root, info, ep_rows)
    columns = obs_keys + ['action', 'timestamp', 'episode_index', 'index', 'task_index']
    table = _read_data(root, data_files, columns)
    episodes = _split_episodes(root, table, obs_keys, ep_rows, tasks)
    stats = _read_stats(root, episodes, obs_keys)
    return Dataset(root=root, episodes=episodes, fps=float(info['fps']), stats=stats,
                   features=features, info=info, obs_keys=obs_keys,
                   fingerprint=_fingerprint(root, data_files), tasks=tasks)


def read_info(root: PathLike) -> Dict[str, Any]:
    """meta/info.json of the dataset at ``root``, checked for version, fps and features."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f'{root}: dataset directory not found')
    path = root / fmt.INFO_PATH
    info = _read_json(path)
    if not isinstance(info, dict):
        raise DatasetError(f'{path}: expected a JSON object')
    version = str(info.get('codebase_version', ''))
    if not version.startswith('v3'):
        raise DatasetError(f'{path}: codebase_version {version!r} is not supported (need v3.x; '
                           'convert older datasets with LeRobot\'s convert_dataset_v21_to_v30)')
    for key in ('fps', 'features'):
        if key not in info:
            raise DatasetError(f'{path}: missing key {key!r}')
    if not isinstance(info['features'], dict) or 'action' not in info['features']:
        raise DatasetError(f'{path}: features must be a mapping with an \'action\' entry')
    return info


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f'{path}: file not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f'{path}: cannot read: {exc}') from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f'{path}: not valid JSON: {exc}') from None


def _select_obs_keys(root: Path, features: Dict, keys: Optional[Sequence[str]]) -> List[str]:
    visual = [k for k, ft in features.items() if ft.get('dtype') in fmt.VISUAL_DTYPES]
    low_dim = [k for k, ft in features.items()
               if k.startswith('observation.') and ft.get('dtype') not in fmt.VISUAL_DTYPES]
    act = features['action']
    if act.get('dtype') in fmt.VISUAL_DTYPES or len(act.get('shape') or [1]) != 1:
        raise DatasetError(f'{root / fmt.INFO_PATH}: action must be a 1-D numeric feature')
    if keys is None:
        keys = low_dim     # image/video features are skipped, not refused
        if not keys and visual:
            raise DatasetError(f'{root / fmt.INFO_PATH}: no low-dimensional observation.* '
                               f'features; image/video features are not supported yet: '
                               f'{", ".join(visual)}')
    keys = list(keys)
    for key in keys:
        if key not in features:
            raise DatasetError(f'{root / fmt.INFO_PATH}: no feature {key!r} (low-dimensional '
                               f'observation keys: {low_dim})')
        if key in visual:
            raise DatasetError(f'{root / fmt.INFO_PATH}: feature {key!r} is '
                               f'{features[key]["dtype"]}, not supported yet')
        if len(features[key].get('shape') or [1]) != 1:
            raise DatasetError(f'{root / fmt.INFO_PATH}: feature {key!r} must be 1-D, shape '
                               f'{features[key]["shape"]}')
    if not keys:
        raise DatasetError(f'{root / fmt.INFO_PATH}: no observation.* features to read')
    return keys


def _read_parquet(path: Path, columns: Optional[List[str]] = None) -> pa.Table:
    if not path.is_file():
        raise DatasetError(f'{path}: file not found')
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise DatasetError(f'{path}: cannot read parquet: {exc}') from None


def _read_tasks(root: Path) -> List[str]:
    path = root / fmt.TASKS_PATH
    table = _read_parquet(path)
    try:
        col = fmt.task_column(table)
    except KeyError:
        raise DatasetError(f'{path}: no task column (columns: {table.column_names})') from None
    if 'task_index' not in table.column_names:
        raise DatasetError(f'{path}: no task_index column')
    pairs = sorted(zip(table['task_index'].to_pylist(), table[col].to_pylist()))
    tasks = [''] * (max(i for i, _ in pairs) + 1 if pairs else 0)
    for i, task in pairs:
        tasks[i] = task
    return tasks


def _read_episode_rows(root: Path) -> List[Dict[str, Any]]:
    files = sorted((root / fmt.EPISODES_DIR).glob('chunk-*/file-*.parquet'))
    if not files:
        raise DatasetError(f'{root / fmt.EPISODES_DIR}: no episode metadata files '
                           '(chunk-XXX/file-XXX.parquet)')
    rows: List[Dict[str, Any]] = []
    for path in files:
        table = _read_parquet(path)
        wanted = [c for c in table.column_names if not c.startswith('stats/')]
        for col in ('episode_index', 'length'):
            if col not in wanted:
                raise DatasetError(f'{path}: missing column {col!r}')
        rows.extend(table.select(wanted).to_pylist())
    return sorted(rows, key=lambda r: r['episode_index'])


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
        table = _read_parquet(path, columns)
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
                    tasks: List[str]) -> List[Episode]:
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
                observations={k: arrays[k][sel] for k in obs_keys}, action=arrays['action'][sel],
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
        raw = _read_json(path)
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
