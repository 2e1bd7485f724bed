"""The ``custom_data`` of a finished rosbag2's metadata.yaml: episode metadata (task, success).

rosbag2 stores custom data as strings; values that are not strings are stored as JSON
(``true``/``false`` for success), as :class:`dil_ros.recording.episode.EpisodeWriter` does.
"""
import json
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

from dil_ros.atomic import atomic_file

METADATA = 'metadata.yaml'
_INFO = 'rosbag2_bagfile_information'


def custom_value(value: Any) -> str:
    """A metadata value as rosbag2 custom data (a string)."""
    return value if isinstance(value, str) else json.dumps(value)


def bag_custom_data(bag_dir: Path) -> Dict[str, str]:
    """The custom_data mapping of a rosbag2's metadata.yaml (episode metadata)."""
    info = yaml.safe_load((Path(bag_dir) / METADATA).read_text())[_INFO]
    return info.get('custom_data') or {}


def set_custom_data(bag_dir: Path, values: Mapping[str, Any]) -> None:
    """Change custom_data entries of a finished bag; metadata.yaml is replaced atomically.

    The bag's storage files are not touched. Raises RecordingError naming the file.
    """
    from dil_ros.recording.episode import describe_os_error, RecordingError  # imports us
    path = Path(bag_dir) / METADATA
    try:
        data = yaml.safe_load(path.read_text())
        info = data[_INFO]
    except OSError as exc:
        raise RecordingError(f'{path}: cannot read: {exc.strerror or exc}') from None
    except (yaml.YAMLError, TypeError, KeyError) as exc:
        raise RecordingError(f'{path}: not a rosbag2 metadata file: {exc}') from None
    custom = dict(info.get('custom_data') or {})
    custom.update({k: custom_value(v) for k, v in values.items()})
    info['custom_data'] = custom
    try:
        with atomic_file(path) as tmp:
            tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    except OSError as exc:
        raise RecordingError(describe_os_error(exc, path).replace(' - recording stopped', '')
                             ) from None
