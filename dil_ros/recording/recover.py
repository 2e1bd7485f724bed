"""Bring a session folder back to a clean state after a crash (``dil-ros recover SESSION_DIR``).

What a crash (SIGKILL, power cut, full disk) can leave, and what recovery does:

* ``.episode_N.partial/`` - an episode that was being recorded: its MCAP has a header and every
  chunk the writer flushed (one per ``flush_period_s``) but no summary/footer and no
  metadata.yaml. ``recover`` reads every record that is intact (a torn last chunk is skipped),
  writes them into a fresh MCAP rosbag2 with metadata.yaml, renames it to ``episode_N/`` and adds
  it to the index with ``recovered: true``. ``--drop`` deletes the partial episode instead. A
  partial episode with no readable message is dropped.
* ``episode_N/`` that the index misses (crash between the rename and the index update) - added to
  the index.
* ``.episode_N.recover/`` - leftovers of an interrupted recovery - deleted (the partial is still
  there).

Finished episodes are never rewritten.
"""
import errno
import json
import os
from pathlib import Path
import shutil
from typing import Dict, Iterator, List, Optional, Tuple

from dil_ros.recording.bag_metadata import bag_custom_data, custom_value
from dil_ros.recording.cdr import TypeRegistry
from dil_ros.recording.episode import (
    describe_os_error, fsync_dir, fsync_files, PARTIAL_SUFFIX, RecordingError, SIDECAR)
from dil_ros.recording.session import INDEX_NAME, Session

SPACE_MARGIN = 1 << 20  # beyond the partial's own size: summary, index, metadata.yaml


def _salvage_records(mcap_path: Path) -> Iterator[Tuple[str, str, str, int, bytes]]:
    """(topic, msgtype, msgdef, log_time, data) of every intact message in a possibly torn MCAP."""
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    schemas: Dict[int, Schema] = {}
    channels: Dict[int, Channel] = {}
    with open(mcap_path, 'rb') as f:
        reader = StreamReader(f, skip_magic=False, emit_chunks=False)
        records = reader.records
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except Exception:  # noqa: BLE001 - torn tail: stop at the first unreadable record
                return
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message):
                channel = channels.get(record.channel_id)
                schema = schemas.get(channel.schema_id) if channel else None
                if schema is None:
                    continue
                yield (channel.topic, schema.name, schema.data.decode(), record.log_time,
                       record.data)


def _bag_summary(bag_dir: Path) -> Dict:
    from rosbags.rosbag2 import Reader
    with Reader(bag_dir) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        return {'start_time_ns': reader.start_time,
                'duration_s': round(reader.duration * 1e-9, 6) if reader.message_count else 0.0,
                'message_count': reader.message_count, 'counts': counts,
                'custom_data': bag_custom_data(bag_dir)}


def _no_space(session_dir: Path, name: str, needed: int, free: int) -> str:
    return (f'{session_dir}: disk full: recovering {name} needs about {needed} bytes '
            f'({needed / 1e6:.1f} MB) free in this folder, {free} bytes are; free space there and '
            'run `dil-ros recover` again (or pass --drop to delete the partial episode)')


def salvage_partial(partial: Path, registry: Optional[TypeRegistry] = None) -> Optional[Dict]:
    """Rewrite a partial episode's readable messages as a finished bag; returns its index entry.

    Returns None (and leaves the partial in place) when nothing was readable. Needs about the
    partial's size free beside it: without, raises RecordingError saying how much, and leaves
    nothing behind.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    registry = registry or TypeRegistry()
    name = partial.name[1:-len(PARTIAL_SUFFIX)]
    session_dir = partial.parent
    sidecar: Dict = {}
    if (partial / SIDECAR).exists():
        try:
            sidecar = json.loads((partial / SIDECAR).read_text())
        except ValueError:
            sidecar = {}
    mcaps = sorted((partial / name).glob('*.mcap')) if (partial / name).is_dir() else []
    needed = sum(p.stat().st_size for p in mcaps) + SPACE_MARGIN
    free = shutil.disk_usage(session_dir).free
    if free < needed:
        raise RecordingError(_no_space(session_dir, name, needed, free))
    work = session_dir / f'.{name}.recover'
    shutil.rmtree(work, ignore_errors=True)
    bag_dir = work / name
    writer = Writer(bag_dir, version=9, storage_plugin=StoragePlugin.MCAP)
    conns: Dict[str, object] = {}
    counts: Dict[str, int] = {}
    first, last = None, 0
    try:
        work.mkdir()
        writer.open()
        for mcap_path in mcaps:
            for topic, msgtype, msgdef, stamp, data in _salvage_records(mcap_path):
                if topic not in conns:
                    registry.ensure(msgtype, msgdef)
                    text, rihs = registry.definition(msgtype)
                    conns[topic] = writer.add_connection(topic, msgtype, msgdef=text, rihs01=rihs)
                    counts[topic] = 0
                writer.write(conns[topic], stamp, data)
                counts[topic] += 1
                first = stamp if first is None else min(first, stamp)
                last = max(last, stamp)
        if not counts:
            writer.abort()
            shutil.rmtree(work, ignore_errors=True)
            return None
        meta = dict(sidecar.get('metadata') or {})
        for key, value in meta.items():
            writer.set_custom_data(key, custom_value(value))
        writer.set_custom_data('recovered', 'true')
        writer.close()
        fsync_files(bag_dir)
        os.rename(bag_dir, session_dir / name)
    except BaseException as exc:
        writer.abort()
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise RecordingError(_no_space(session_dir, name, needed,
                                           shutil.disk_usage(session_dir).free)) from None
        if isinstance(exc, OSError):
            raise RecordingError(describe_os_error(exc, work).replace(
                'recording stopped', 'recovery stopped')) from None
        raise
    fsync_dir(session_dir)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    for topic in (sidecar.get('topics') or {}):
        counts.setdefault(topic, 0)
    return {
        'name': name, 'path': name,
        'start_time_ns': sidecar.get('start_ns', first),
        'duration_s': round((last - first) * 1e-9, 6),
        'message_count': sum(counts.values()), 'counts': counts,
        'metadata': meta, 'success': meta.get('success'), 'recovered': True,
    }


def recover_session(session_dir, drop: bool = False) -> List[str]:
    """Recover (or with ``drop`` delete) partial episodes and re-index unindexed ones.

    Returns one line per action taken.
    """
    session = Session(session_dir)
    if not session.path.is_dir():
        raise RecordingError(f'{session.path}: not a session folder')
    log: List[str] = []
    for stale in session.path.glob('.episode_*.recover'):
        shutil.rmtree(stale, ignore_errors=True)
        log.append(f'removed leftover {stale.name}')
    indexed = {e.get('name') for e in session.episodes()}
    registry = TypeRegistry()
    for partial in session.partials():
        name = partial.name[1:-len(PARTIAL_SUFFIX)]
        if (session.path / name).exists():
            shutil.rmtree(partial, ignore_errors=True)
            log.append(f'{name}: finished already; removed its leftover partial folder')
            continue
        if drop:
            shutil.rmtree(partial)
            log.append(f'{name}: dropped partial episode')
            continue
        entry = salvage_partial(partial, registry)
        if entry is None:
            shutil.rmtree(partial)
            log.append(f'{name}: nothing readable; dropped')
            continue
        session.add(entry)
        indexed.add(name)
        log.append(f'{name}: recovered {entry["message_count"]} messages '
                   f'({entry["duration_s"]:.1f} s)')
    for child in sorted(session.path.iterdir()):
        if (child.is_dir() and child.name.startswith('episode_') and child.name not in indexed
                and (child / 'metadata.yaml').exists()):
            summary = _bag_summary(child)
            custom = summary.pop('custom_data')
            meta = {}
            for key, value in custom.items():
                try:
                    meta[key] = json.loads(value)
                except ValueError:
                    meta[key] = value
            session.add({'name': child.name, 'path': child.name, **summary, 'metadata': meta,
                         'success': meta.get('success')})
            log.append(f'{child.name}: added to {INDEX_NAME}')
    if not log:
        log.append('nothing to recover')
    return log
