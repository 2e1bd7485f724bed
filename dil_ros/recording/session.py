"""A recording session: a folder of episodes and its index.

Session folder (``output_dir``, default ``runs/demos/<YYYYmmdd_HHMMSS>``)::

    episodes.json            index, replaced atomically (temp file + os.replace) after each change
    episode_0000/            one rosbag2 (MCAP + metadata.yaml) per kept episode
    episode_0001/
    .episode_0002.partial/   the episode being recorded (or left by a crash: see
                             dil_ros.recording.recover)

The index names the session (its contract) from the first start and lists, per episode: name,
path, start time, duration, per-topic message counts, metadata (task, operator, robot, ...) and
success. A crash can at worst leave an episode folder that the index misses or a partial folder;
``dil-ros recover`` fixes both and never rewrites a finished bag. The start/stop/discard state
machine over a session is :class:`dil_ros.recording.recorder.Recorder`.
"""
import json
from pathlib import Path
import re
import time
from typing import Dict, List, Mapping, Optional

from dil_ros.recording.episode import (
    describe_os_error, PARTIAL_SUFFIX, RecordingError, write_json_atomic)

INDEX_NAME = 'episodes.json'
INDEX_FORMAT = 'dil_ros.episodes/1'
_EPISODE_RE = re.compile(r'^\.?episode_(\d{4,})(\.partial|\.recover)?$')


def default_session_dir(root: str = 'runs/demos') -> Path:
    return Path(root) / time.strftime('%Y%m%d_%H%M%S')


def episode_name(index: int) -> str:
    return f'episode_{index:04d}'


class Session:
    """The session folder and its episodes index."""

    def __init__(self, path, info: Optional[Mapping] = None):
        self.path = Path(path)
        self.index_path = self.path / INDEX_NAME
        self.info = dict(info or {})

    def ensure(self) -> None:
        """Create the folder, and an empty index that names the session (its contract) so that
        ``dil-ros recover`` keeps it even if the first episode never finishes."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.path).replace(
                'recording stopped', 'cannot create session folder')) from None
        if not self.index_path.exists():
            self._save(self.load_index())

    def load_index(self) -> Dict:
        if not self.index_path.exists():
            return {'format': INDEX_FORMAT, **self.info, 'episodes': []}
        try:
            data = json.loads(self.index_path.read_text())
        except (OSError, ValueError) as exc:
            raise RecordingError(f'{self.index_path}: cannot read index: {exc}') from None
        data.setdefault('episodes', [])
        return data

    def episodes(self) -> List[Dict]:
        return self.load_index()['episodes']

    def _save(self, data: Dict) -> None:
        try:
            write_json_atomic(self.index_path, data)
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.index_path).replace(
                ' - recording stopped', '')) from None

    def add(self, entry: Mapping) -> None:
        data = self.load_index()
        for key, value in self.info.items():
            data.setdefault(key, value)
        data['episodes'] = [e for e in data['episodes'] if e.get('name') != entry['name']]
        data['episodes'].append(dict(entry))
        data['episodes'].sort(key=lambda e: e['name'])
        self._save(data)

    def update(self, name: str, **fields) -> Dict:
        data = self.load_index()
        for entry in data['episodes']:
            if entry.get('name') == name:
                entry.update(fields)
                if 'success' in fields:
                    entry.setdefault('metadata', {})['success'] = fields['success']
                self._save(data)
                return entry
        raise RecordingError(f'{self.index_path}: no episode {name!r} in the index')

    def next_index(self) -> int:
        """One past the highest episode number among folders, partial folders and the index."""
        used = [-1]
        if self.path.is_dir():
            for child in self.path.iterdir():
                m = _EPISODE_RE.match(child.name)
                if m:
                    used.append(int(m.group(1)))
        if self.index_path.exists():
            for entry in self.episodes():
                m = _EPISODE_RE.match(entry.get('name', ''))
                if m:
                    used.append(int(m.group(1)))
        return max(used) + 1

    def partials(self) -> List[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir()
                      if p.is_dir() and p.name.startswith('.') and p.name.endswith(PARTIAL_SUFFIX))
