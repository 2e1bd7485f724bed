"""Write LeRobot v3.0 datasets, as LeRobot's own writer lays them out.

The layout is described in lerobot_format.py (low-dimensional features) and lerobot_video.py
(cameras, as video features). Writing is atomic: the tree is built in a temporary
directory next to the target and renamed into place.
"""

import json
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dil_ros.data import lerobot_format as fmt
from dil_ros.data.episode import Episode
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.lerobot_video import image_stats, video_feature, VIDEO_COLUMNS, \
    VideoFeatureWriter
from dil_ros.data.stats import STAT_NAMES, array_stats, compute_stats

PathLike = Union[str, Path]


def write_dataset(root: PathLike, episodes: List[Episode], fps: float,
                  names: Optional[Dict[str, List[str]]] = None,
                  robot_type: Optional[str] = None, overwrite: bool = False,
                  data_file_size_mb: float = fmt.DEFAULT_DATA_FILE_SIZE_IN_MB) -> Path:
    """Write ``episodes`` as a LeRobot v3.0 dataset at ``root``; returns ``root``.

    Built in a temporary directory next to ``root`` and renamed into place, so a crash never
    leaves half a dataset. An existing non-empty ``root`` is replaced only with ``overwrite``.
    ``data_file_size_mb`` starts a new data file once one grows past it (LeRobot: 100 MB).
    """
    root = Path(root)
    episodes = list(episodes)
    if not episodes:
        raise DatasetError(f'{root}: no episodes to write')
    if fps <= 0:
        raise DatasetError(f'{root}: fps must be > 0, got {fps}')
    check_writable(root, overwrite)
    features = _features_of(episodes, names or {})
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f'.{root.name}.tmp-{uuid.uuid4().hex[:8]}'
    try:
        _write_tree(tmp, episodes, fps, features, robot_type, data_file_size_mb)
        _replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def check_writable(root: PathLike, overwrite: bool = False) -> None:
    """DatasetError unless ``root`` is absent, empty, or may be overwritten."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())) and not overwrite:
        raise DatasetError(f'{root}: already exists and is not empty (use overwrite)')


def _features_of(episodes: List[Episode], names: Dict[str, List[str]]) -> Dict[str, Dict]:
    first = episodes[0]
    keys = list(first.observations)
    for i, ep in enumerate(episodes):
        if list(ep.observations) != keys:
            raise DatasetError(f'episode {i}: observation keys {list(ep.observations)} differ '
                               f'from episode 0 {keys}')
        for key in keys + ['action']:
            arr = ep.action if key == 'action' else ep.observations[key]
            ref = first.action if key == 'action' else first.observations[key]
            if arr.shape[1:] != ref.shape[1:]:
                what = 'frame size' if key in first.image_keys else 'dimension'
                raise DatasetError(f'episode {i}: {key} has {what} {_size(arr)}, episode 0 '
                                   f'has {_size(ref)}')
    for key in keys:
        if not key.startswith('observation.') or '/' in key:
            raise DatasetError(f"observation key {key!r} must start with 'observation.' and "
                               "contain no '/'")
    features = {key: video_feature(*first.observations[key].shape[1:3])
                if key in first.image_keys
                else fmt.vector_feature(first.observations[key].shape[1], names.get(key))
                for key in keys}
    features['action'] = fmt.vector_feature(first.action.shape[1], names.get('action'))
    features.update({k: dict(v) for k, v in fmt.DEFAULT_FEATURES.items()})
    return features


def _size(arr: np.ndarray):
    return tuple(arr.shape[1:3]) if arr.ndim == 4 else arr.shape[1]


def _write_tree(tmp: Path, episodes: List[Episode], fps: float, features: Dict[str, Dict],
                robot_type: Optional[str], file_size_mb: float) -> None:
    tasks = list(dict.fromkeys(ep.task for ep in episodes))
    task_index = {t: i for i, t in enumerate(tasks)}
    schema = fmt.data_schema(features)
    bytes_per_frame = sum(4 * fmt.feature_dim(ft) if ft['dtype'] == 'float32' else 8
                          for ft in features.values() if ft['dtype'] not in fmt.VISUAL_DTYPES)
    videos = {key: VideoFeatureWriter(tmp, key, fps, *ft['shape'][:2])
              for key, ft in features.items() if ft['dtype'] == 'video'}
    chunk, file_idx, frames_in_file, start = 0, 0, 0, 0
    tables: List[pa.Table] = []
    rows: List[Dict[str, Any]] = []

    def flush():
        if tables:
            path = tmp / fmt.DEFAULT_DATA_PATH.format(chunk_index=chunk, file_index=file_idx)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.concat_tables(tables), path)
            tables.clear()

    for ep_idx, ep in enumerate(episodes):
        if frames_in_file and (frames_in_file + len(ep)) * bytes_per_frame > file_size_mb * 2**20:
            flush()
            file_idx, frames_in_file = file_idx + 1, 0
            if file_idx >= fmt.DEFAULT_CHUNK_SIZE:
                chunk, file_idx = chunk + 1, 0
        tables.append(_episode_table(ep, ep_idx, start, task_index[ep.task], schema))
        rows.append(_episode_row(ep, ep_idx, start, chunk, file_idx))
        for key, video in videos.items():
            rows[-1].update(video.add(ep.observations[key]))
        frames_in_file += len(ep)
        start += len(ep)
    flush()
    for key, video in videos.items():
        features[key]['info'] = video.finish()

    ep_path = tmp / fmt.DEFAULT_EPISODES_PATH.format(chunk_index=0, file_index=0)
    ep_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=_episodes_schema(features)), ep_path)
    pq.write_table(fmt.tasks_table(tasks), tmp / fmt.TASKS_PATH)
    stats = compute_stats(episodes)
    for key in videos:
        step = max(1, sum(len(ep) for ep in episodes) // 1000)  # LeRobot samples frames too
        stats[key] = image_stats(np.concatenate([ep.observations[key][::step]
                                                 for ep in episodes]))
    stats.update(_index_stats(episodes, fps, task_index))
    _write_json(tmp / fmt.STATS_PATH, {k: {s: v.tolist() for s, v in st.items()}
                                       for k, st in stats.items()})
    info = fmt.make_info(features, fps, len(episodes), start, len(tasks), robot_type)
    if videos:
        info['video_path'] = fmt.DEFAULT_VIDEO_PATH
    _write_json(tmp / fmt.INFO_PATH, info)


def _episode_table(ep: Episode, ep_idx: int, start: int, task_idx: int,
                   schema: pa.Schema) -> pa.Table:
    n = len(ep)
    columns = {}
    for key in ep.lowdim_keys + ['action']:
        arr = ep.action if key == 'action' else ep.observations[key]
        typ = schema.field(key).type
        if pa.types.is_fixed_size_list(typ):
            columns[key] = pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1)),
                                                             arr.shape[1])
        else:
            columns[key] = pa.array(arr[:, 0])
    columns['timestamp'] = pa.array(ep.timestamps.astype(np.float32))
    columns['frame_index'] = pa.array(np.arange(n, dtype=np.int64))
    columns['episode_index'] = pa.array(np.full(n, ep_idx, dtype=np.int64))
    columns['index'] = pa.array(np.arange(start, start + n, dtype=np.int64))
    columns['task_index'] = pa.array(np.full(n, task_idx, dtype=np.int64))
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def _episodes_schema(features: Dict[str, Dict]) -> pa.Schema:
    fields = [('episode_index', pa.int64()), ('tasks', pa.list_(pa.string())),
              ('length', pa.int64()), ('data/chunk_index', pa.int64()),
              ('data/file_index', pa.int64()), ('dataset_from_index', pa.int64()),
              ('dataset_to_index', pa.int64()), ('meta/episodes/chunk_index', pa.int64()),
              ('meta/episodes/file_index', pa.int64())]
    for key, ft in features.items():
        if ft['dtype'] == 'video':
            fields.extend((f'videos/{key}/{c}', pa.int64() if c.endswith('index')
                           else pa.float64()) for c in VIDEO_COLUMNS)
    for key, ft in features.items():
        if key in fmt.DEFAULT_FEATURES:
            continue
        for stat in STAT_NAMES:
            typ = pa.list_(pa.int64() if stat == 'count' else pa.float64())
            if ft['dtype'] == 'video' and stat != 'count':   # [3, 1, 1] per channel
                typ = pa.list_(pa.list_(typ))
            fields.append((f'stats/{key}/{stat}', typ))
    fields.append((fmt.METADATA_COLUMN, pa.string()))
    return pa.schema(fields)


def _episode_row(ep: Episode, ep_idx: int, start: int, chunk: int, file_idx: int) -> Dict:
    row = {'episode_index': ep_idx, 'tasks': [ep.task], 'length': len(ep),
           'data/chunk_index': chunk, 'data/file_index': file_idx,
           'dataset_from_index': start, 'dataset_to_index': start + len(ep),
           'meta/episodes/chunk_index': 0, 'meta/episodes/file_index': 0,
           fmt.METADATA_COLUMN: json.dumps(ep.metadata, default=str)}
    for key in list(ep.observations) + ['action']:
        arr = ep.action if key == 'action' else ep.observations[key]
        stats = image_stats(arr) if key in ep.image_keys else array_stats(arr)
        for stat, value in stats.items():
            row[f'stats/{key}/{stat}'] = value.tolist()
    return row


def _index_stats(episodes: List[Episode], fps: float, task_index: Dict[str, int]) -> Dict:
    ts = np.concatenate([ep.timestamps.astype(np.float32) for ep in episodes])
    frame = np.concatenate([np.arange(len(ep)) for ep in episodes])
    epi = np.concatenate([np.full(len(ep), i) for i, ep in enumerate(episodes)])
    task = np.concatenate([np.full(len(ep), task_index[ep.task]) for ep in episodes])
    values = {'timestamp': ts, 'frame_index': frame, 'episode_index': epi,
              'index': np.arange(len(ts)), 'task_index': task}
    return {k: array_stats(v) for k, v in values.items()}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + '\n')


def _replace(tmp: Path, root: Path) -> None:
    if not root.exists():
        tmp.rename(root)
        return
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
        tmp.rename(root)
        return
    trash = root.parent / f'.{root.name}.old-{uuid.uuid4().hex[:8]}'
    root.rename(trash)
    tmp.rename(root)
    shutil.rmtree(trash, ignore_errors=True)
