"""One episode = one MCAP rosbag2, written by a background thread from a queue of serialized
messages.

Subscription callbacks only call :meth:`EpisodeWriter.put` (a timestamp and a lock-free queue
append); the writer thread normalises CDR, writes MCAP records and every ``flush_period_s`` writes
the pending chunk and fsyncs the file, so a crash or power cut loses at most that much. Layout
while recording and after::

    SESSION/.episode_0003.partial/episode.json         sidecar: name, metadata, start time
    SESSION/.episode_0003.partial/episode_0003/*.mcap  the bag being written (no metadata.yaml yet)
    SESSION/episode_0003/{episode_0003.mcap,metadata.yaml}   after finish(): files fsynced, one
                                                             atomic rename, folder fsynced

A write error (full disk, vanished folder) stops the episode: the error is kept in :attr:`error`,
the partial folder stays for ``dil-ros recover`` (or is dropped there), and nothing outside it is
touched.
"""
from collections import Counter
import errno
import json
import os
from pathlib import Path
import queue
import shutil
import threading
import time
from typing import Callable, Dict, Mapping, Optional

from rosbags.rosbag2 import StoragePlugin, Writer

from dil_ros.atomic import atomic_file
from dil_ros.errors import DilRosError
from dil_ros.recording.bag_metadata import custom_value
from dil_ros.recording.cdr import TypeRegistry
from dil_ros.recording.rosbags_private import check_mcap_writer, flush_chunk

PARTIAL_SUFFIX = '.partial'
SIDECAR = 'episode.json'
_STOP = object()


class RecordingError(DilRosError):
    """Recording could not start or continue; the message names the folder and the cause."""


def describe_os_error(exc: BaseException, path: Path) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f'{path}: disk full (ENOSPC) - recording stopped'
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f'{path}: folder not writable ({exc.strerror}) - recording stopped'
    if isinstance(exc, OSError):
        return f'{path}: write failed: {exc.strerror or exc} - recording stopped'
    return f'{path}: write failed: {exc} - recording stopped'


def partial_dir(session_dir: Path, name: str) -> Path:
    return session_dir / f'.{name}{PARTIAL_SUFFIX}'


def write_json_atomic(path: Path, data) -> None:
    """Write JSON through a temp file, fsync and os.replace: old or new content, never half."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + '\n')


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_files(folder: Path) -> None:
    """Put the files of ``folder`` (a closed bag) on disk, before it is renamed into place."""
    for path in Path(folder).iterdir():
        with open(path, 'rb') as f:
            os.fsync(f.fileno())
    fsync_dir(folder)


class EpisodeWriter:
    """Writes one episode's messages to MCAP on a background thread.

    ``topics`` maps topic name to message type. ``put`` is safe from any thread and never blocks.
    """

    def __init__(self, session_dir: Path, name: str, topics: Mapping[str, str],
                 metadata: Optional[Mapping] = None, registry: Optional[TypeRegistry] = None,
                 flush_period_s: float = 1.0, normalise_cdr: bool = True,
                 clock_ns: Callable[[], int] = time.time_ns,
                 on_error: Optional[Callable[[str], None]] = None):
        self.session_dir = Path(session_dir)
        self.name = name
        self.topics: Dict[str, str] = dict(topics)
        self.metadata = dict(metadata or {})
        self.registry = registry or TypeRegistry()
        self.flush_period_s = flush_period_s
        self.normalise_cdr = normalise_cdr
        self.clock_ns = clock_ns
        self.on_error = on_error
        self.partial = partial_dir(self.session_dir, name)
        self.bag_dir = self.partial / name
        self.final_dir = self.session_dir / name
        self.counts: Counter = Counter({t: 0 for t in self.topics})
        self.bad_messages: Counter = Counter({t: 0 for t in self.topics})
        self.start_ns = 0
        self.stop_ns = 0
        self.error: Optional[str] = None
        self._queue: 'queue.SimpleQueue' = queue.SimpleQueue()
        self._writer: Optional[Writer] = None
        self._conns: Dict[str, object] = {}
        self._synced = 0  # bytes of the MCAP file known to be on disk
        self._thread: Optional[threading.Thread] = None
        self._accepting = False
        self._closed = False

    # ---------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Create the partial folder and the bag; raises RecordingError (nothing left behind)."""
        if self.final_dir.exists() or self.partial.exists():
            raise RecordingError(f'{self.final_dir}: episode exists already')
        try:
            self.partial.mkdir(parents=True)
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.session_dir).replace(
                'recording stopped', 'cannot start')) from None
        writer = None
        try:
            for msgtype in set(self.topics.values()):
                self.registry.ensure(msgtype)
            self.start_ns = self.clock_ns()
            self._write_sidecar()
            writer = Writer(self.bag_dir, version=9, storage_plugin=StoragePlugin.MCAP)
            writer.open()
            check_mcap_writer(writer)
            for folder in (self.bag_dir, self.partial, self.session_dir):
                fsync_dir(folder)  # the new bag file's entry survives a power cut
            for topic, msgtype in self.topics.items():
                msgdef, rihs = self.registry.definition(msgtype)
                self._conns[topic] = writer.add_connection(topic, msgtype, msgdef=msgdef,
                                                           rihs01=rihs)
            self._writer = writer
        except (OSError, DilRosError) as exc:
            if writer is not None:
                writer.abort()
            shutil.rmtree(self.partial, ignore_errors=True)
            if isinstance(exc, DilRosError):
                raise RecordingError(f'{self.name}: cannot start: {exc}') from None
            raise RecordingError(describe_os_error(exc, self.partial).replace(
                'recording stopped', 'cannot start')) from None
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name=f'writer-{self.name}', daemon=True)
        self._thread.start()

    def update_metadata(self, **values) -> None:
        """Change episode metadata (e.g. success) while recording; the sidecar follows, so a
        recovered episode keeps it. Raises RecordingError when the sidecar cannot be written."""
        self.metadata.update(values)
        try:
            self._write_sidecar()
        except OSError as exc:
            raise RecordingError(describe_os_error(exc, self.partial / SIDECAR).replace(
                ' - recording stopped', '')) from None

    def _write_sidecar(self) -> None:
        write_json_atomic(self.partial / SIDECAR, {
            'name': self.name, 'start_ns': self.start_ns, 'topics': self.topics,
            'metadata': self.metadata})

    def put(self, topic: str, data: bytes, stamp_ns: Optional[int] = None) -> None:
        """Queue one serialized message (receive time now unless given). Never blocks."""
        if self._accepting:
            self._queue.put((topic, data, self.clock_ns() if stamp_ns is None else stamp_ns))

    @property
    def duration_s(self) -> float:
        return max(0, self.clock_ns() - self.start_ns) * 1e-9 if self.start_ns else 0.0

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def finish(self) -> Dict:
        """Drain the queue, close the bag, rename it into place; returns the index entry."""
        self.stop_ns = self.clock_ns()
        self._drain()
        if self.error is not None:
            raise RecordingError(self.error)
        try:
            for key, value in self.metadata.items():
                self._writer.set_custom_data(key, custom_value(value))
            self._writer.close()
            self._writer = None
            fsync_files(self.bag_dir)
            os.rename(self.bag_dir, self.final_dir)
            fsync_dir(self.session_dir)
            shutil.rmtree(self.partial, ignore_errors=True)
        except OSError as exc:
            self._fail(exc)
            raise RecordingError(self.error) from None
        self._closed = True
        return self.index_entry()

    def discard(self) -> None:
        """Stop and delete everything of this episode."""
        self._drain()
        self._abort_writer()
        shutil.rmtree(self.partial, ignore_errors=True)
        self._closed = True

    def abandon(self) -> None:
        """Stop writing but leave the partial folder for recovery (used after a write error)."""
        self._drain()
        self._abort_writer()
        self._closed = True

    def index_entry(self) -> Dict:
        return {
            'name': self.name,
            'path': self.name,
            'start_time_ns': self.start_ns,
            'duration_s': round(max(0, (self.stop_ns or self.clock_ns()) - self.start_ns) * 1e-9,
                                6),
            'message_count': sum(self.counts.values()),
            'counts': {t: self.counts.get(t, 0) for t in self.topics},
            'metadata': self.metadata,
            'success': self.metadata.get('success'),
        }

    # ---------------------------------------------------------------- internals
    def _drain(self) -> None:
        self._accepting = False
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _abort_writer(self) -> None:
        if self._writer is not None:
            try:
                self._writer.abort()
            except Exception:  # noqa: BLE001 - aborting after an error must not raise
                pass
            self._writer = None

    def _fail(self, exc: BaseException) -> None:
        self._accepting = False
        self.error = describe_os_error(exc, self.partial)
        if self.on_error is not None:
            self.on_error(self.error)

    def _flush(self) -> None:
        """Put the pending MCAP chunk on disk, fsynced (rosbags only writes one every 1 MiB)."""
        self._synced = flush_chunk(self._writer, self._synced)

    def _run(self) -> None:
        q = self._queue
        write = self._writer.write
        conns = self._conns
        topics = self.topics
        counts = self.counts
        normalise = self.registry.normalise if self.normalise_cdr else None
        next_flush = time.monotonic() + self.flush_period_s
        while True:
            try:
                item = q.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None and self.error is None:
                topic, data, stamp = item
                if normalise is not None:
                    try:
                        data = normalise(data, topics[topic])
                    except ValueError:
                        self.bad_messages[topic] += 1
                        continue
                try:
                    write(conns[topic], stamp, data)
                except Exception as exc:  # noqa: BLE001 - OSError or rosbags wrapping it
                    self._fail(exc)
                    continue
                counts[topic] += 1
            if self.error is None and time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self.flush_period_s
                try:
                    self._flush()
                except Exception as exc:  # noqa: BLE001
                    self._fail(exc)
