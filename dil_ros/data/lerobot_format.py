"""The LeRobot v3.0 on-disk layout for low-dimensional data: paths, features, Arrow schemas.

Checked against huggingface/lerobot src/lerobot/datasets/utils.py (v3.0): ``meta/info.json``,
``meta/stats.json``, ``meta/tasks.parquet`` (a pandas frame indexed by ``task`` with a
``task_index`` column), ``meta/episodes/chunk-XXX/file-XXX.parquet`` and
``data/chunk-XXX/file-XXX.parquet``. A feature of shape ``(1,)`` is stored as a scalar column
(``datasets.Value``), longer vectors as fixed-size lists (``datasets.Sequence(length=D)``).
"""

import json
from typing import Any, Dict, List, Optional

import numpy as np
import pyarrow as pa

from dil_ros.errors import DilRosError

CODEBASE_VERSION = 'v3.0'
DEFAULT_CHUNK_SIZE = 1000
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200

INFO_PATH = 'meta/info.json'
STATS_PATH = 'meta/stats.json'
TASKS_PATH = 'meta/tasks.parquet'
EPISODES_DIR = 'meta/episodes'
DATA_DIR = 'data'
CHUNK_FILE_PATTERN = 'chunk-{chunk_index:03d}/file-{file_index:03d}'
DEFAULT_EPISODES_PATH = EPISODES_DIR + '/' + CHUNK_FILE_PATTERN + '.parquet'
DEFAULT_DATA_PATH = DATA_DIR + '/' + CHUNK_FILE_PATTERN + '.parquet'
DEFAULT_VIDEO_PATH = 'videos/{video_key}/' + CHUNK_FILE_PATTERN + '.mp4'

DEFAULT_FEATURES = {
    'timestamp': {'dtype': 'float32', 'shape': [1], 'names': None},
    'frame_index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'episode_index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'task_index': {'dtype': 'int64', 'shape': [1], 'names': None},
}
VISUAL_DTYPES = ('image', 'video')
METADATA_COLUMN = 'dil_ros/metadata'


class DatasetError(DilRosError, ValueError):
    """A dataset is missing, broken or unsupported; the message names the file or feature."""


def vector_feature(dim: int, names: Optional[List[str]] = None) -> Dict[str, Any]:
    """A float32 vector feature as info.json describes it."""
    if names is not None and len(names) != dim:
        raise DatasetError(f'{len(names)} names given for a feature of dimension {dim}')
    return {'dtype': 'float32', 'shape': [dim], 'names': list(names) if names else None}


def feature_dim(feature: Dict[str, Any]) -> int:
    shape = feature.get('shape') or [1]
    dim = 1
    for s in shape:
        dim *= int(s)
    return dim


def feature_names(feature: Dict[str, Any]) -> Optional[List[str]]:
    """Per-dimension names; LeRobot writes a list, older ports a ``{'motors': [...]}`` mapping."""
    names = feature.get('names')
    if isinstance(names, dict):
        names = next(iter(names.values()), None)
    return list(names) if isinstance(names, list) else None


def arrow_type(feature: Dict[str, Any]) -> pa.DataType:
    value = pa.from_numpy_dtype(np.dtype(feature['dtype']))
    dim = feature_dim(feature)
    return value if list(feature.get('shape') or [1]) == [1] else pa.list_(value, dim)


def hf_feature(feature: Dict[str, Any]) -> Dict[str, Any]:
    """The ``datasets.Features`` JSON of one feature (LeRobot's get_hf_features_from_features)."""
    value = {'dtype': feature['dtype'], '_type': 'Value'}
    if list(feature.get('shape') or [1]) == [1]:
        return value
    return {'feature': value, 'length': feature_dim(feature), '_type': 'Sequence'}


def data_schema(features: Dict[str, Dict[str, Any]]) -> pa.Schema:
    """Arrow schema of a data file, with the ``huggingface`` metadata ``datasets`` writes.

    Video features have no column (their frames are in videos/, see lerobot_video.py)."""
    features = {k: ft for k, ft in features.items() if ft['dtype'] != 'video'}
    fields = [pa.field(key, arrow_type(ft)) for key, ft in features.items()]
    hf = {'info': {'features': {key: hf_feature(ft) for key, ft in features.items()}}}
    return pa.schema(fields, metadata={b'huggingface': json.dumps(hf).encode()})


def tasks_table(tasks: List[str]) -> pa.Table:
    """meta/tasks.parquet as pandas writes it: ``task_index`` column, index named ``task``."""
    pandas_meta = {
        'index_columns': ['task'],
        'column_indexes': [{'name': None, 'field_name': None, 'pandas_type': 'unicode',
                            'numpy_type': 'object', 'metadata': {'encoding': 'UTF-8'}}],
        'columns': [
            {'name': 'task_index', 'field_name': 'task_index', 'pandas_type': 'int64',
             'numpy_type': 'int64', 'metadata': None},
            {'name': 'task', 'field_name': 'task', 'pandas_type': 'unicode',
             'numpy_type': 'object', 'metadata': None},
        ],
        'creator': {'library': 'pyarrow', 'version': pa.__version__},
        'pandas_version': '2.2.3',
    }
    schema = pa.schema([('task_index', pa.int64()), ('task', pa.string())],
                       metadata={b'pandas': json.dumps(pandas_meta).encode()})
    return pa.table({'task_index': list(range(len(tasks))), 'task': list(tasks)}, schema=schema)


def task_column(table: pa.Table) -> str:
    """Name of the column holding task strings in a tasks.parquet (named or pandas index)."""
    meta = (table.schema.metadata or {}).get(b'pandas')
    if meta:
        index_cols = [c for c in json.loads(meta).get('index_columns', []) if isinstance(c, str)]
        if index_cols and index_cols[0] in table.column_names:
            return index_cols[0]
    for name in ('task', '__index_level_0__'):
        if name in table.column_names:
            return name
    raise KeyError('task')


def make_info(features: Dict[str, Dict[str, Any]], fps: float, total_episodes: int,
              total_frames: int, total_tasks: int, robot_type: Optional[str]) -> Dict[str, Any]:
    """meta/info.json as LeRobot's create_empty_dataset_info fills it after saving episodes."""
    return {
        'codebase_version': CODEBASE_VERSION,
        'robot_type': robot_type,
        'total_episodes': total_episodes,
        'total_frames': total_frames,
        'total_tasks': total_tasks,
        'chunks_size': DEFAULT_CHUNK_SIZE,
        'data_files_size_in_mb': DEFAULT_DATA_FILE_SIZE_IN_MB,
        'video_files_size_in_mb': DEFAULT_VIDEO_FILE_SIZE_IN_MB,
        'fps': int(fps) if float(fps).is_integer() else float(fps),
        'splits': {'train': f'0:{total_episodes}'},
        'data_path': DEFAULT_DATA_PATH,
        'video_path': None,
        'features': features,
    }
