"""The metadata of a LeRobot v3.0 dataset: meta/info.json, tasks and episode rows.

Errors name the file (lerobot_format.DatasetError).
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import pyarrow as pa
import pyarrow.parquet as pq

from dil_ros.data import lerobot_format as fmt
from dil_ros.data.lerobot_format import DatasetError

PathLike = Union[str, Path]


def read_info(root: PathLike) -> Dict[str, Any]:
    """meta/info.json of the dataset at ``root``, checked for version, fps and features."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f'{root}: dataset directory not found')
    path = root / fmt.INFO_PATH
    info = read_json(path)
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


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f'{path}: file not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f'{path}: cannot read: {exc}') from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f'{path}: not valid JSON: {exc}') from None


def read_parquet(path: Path, columns: Optional[List[str]] = None) -> pa.Table:
    if not path.is_file():
        raise DatasetError(f'{path}: file not found')
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise DatasetError(f'{path}: cannot read parquet: {exc}') from None


def read_tasks(root: Path) -> List[str]:
    path = root / fmt.TASKS_PATH
    table = read_parquet(path)
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


def read_episode_rows(root: Path) -> List[Dict[str, Any]]:
    files = sorted((root / fmt.EPISODES_DIR).glob('chunk-*/file-*.parquet'))
    if not files:
        raise DatasetError(f'{root / fmt.EPISODES_DIR}: no episode metadata files '
                           '(chunk-XXX/file-XXX.parquet)')
    rows: List[Dict[str, Any]] = []
    for path in files:
        table = read_parquet(path)
        wanted = [c for c in table.column_names if not c.startswith('stats/')]
        for col in ('episode_index', 'length'):
            if col not in wanted:
                raise DatasetError(f'{path}: missing column {col!r}')
        rows.extend(table.select(wanted).to_pylist())
    return sorted(rows, key=lambda r: r['episode_index'])
