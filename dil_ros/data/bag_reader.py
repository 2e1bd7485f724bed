"""Read the contract's topics from one rosbag2 recording into time-stamped vectors.

Any rosbag2 works: MCAP or sqlite3 storage, split over several files, recorded by us or by
``ros2 bag record``. Message types come from the ROS 2 typestore of ``rosbags``; custom types are
registered from the definitions the bag carries. Times are the messages' header stamps where they
have one (non-zero), else the bag's receive time stamps; ``header_stamps=False`` uses receive time
only.

A camera key's series holds each message's ordinal on its topic (``[N, 1]``), not its pixels:
the converter picks the frames it needs on the grid and decodes only those
(:mod:`dil_ros.data.bag_frames`).
"""

from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_types_from_idl, get_types_from_msg, get_typestore, Stores
import yaml

from dil_ros.contract import Contract
from dil_ros.data.msg_fields import extract, extract_action, FieldError
from dil_ros.errors import DilRosError

ACTION_KEY = 'action'
METADATA = 'metadata.yaml'
_STORE = getattr(Stores, 'ROS2_KILTED', None) or list(Stores)[-1]


class BagError(DilRosError):
    """A recording cannot be converted; the message names the bag file and topic."""


@dataclass
class TopicSeries:
    """One key's messages: times (int64 ns) and the vectors taken from them. ``header_stamped``
    counts the messages timed by their header stamp (the others by the bag's receive time)."""

    key: str
    topic: str
    times_ns: np.ndarray
    values: np.ndarray
    header_stamped: int = 0


@dataclass
class BagContents:
    """What one bag holds for the contract; ``custom_data`` comes from its metadata.yaml
    (episode metadata: task, success, ...), ``warnings`` say what was read only in part."""

    path: Path
    series: Dict[str, TopicSeries]
    message_count: int
    custom_data: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def one_line(exc: BaseException) -> str:
    """An exception's message with its line breaks and indentation collapsed."""
    return ' '.join(str(exc).split())


def default_typestore():
    """The newest ROS 2 typestore this rosbags version ships."""
    return get_typestore(_STORE)


def _register_custom_types(typestore, connections, path: Path) -> None:
    """Add the bag's own definitions of message types the typestore does not know."""
    types: Dict[str, Any] = {}
    for conn in connections:
        if conn.msgtype in typestore.fielddefs or conn.msgtype in types:
            continue
        fmt, data = conn.msgdef.format, conn.msgdef.data
        try:
            if fmt == MessageDefinitionFormat.MSG:
                types.update(get_types_from_msg(data, conn.msgtype))
            elif fmt == MessageDefinitionFormat.IDL:
                sep = '=' * 80 + '\n'
                parts = data.split(sep)[1:] if data.startswith(f'{sep}IDL: ') else [data]
                for part in parts:
                    types.update(get_types_from_idl(part.split('\n', 1)[1]
                                                    if part.startswith('IDL: ') else part))
        except Exception as exc:  # noqa: BLE001 - rosbags raises several parser errors
            raise BagError(f"{path}: topic {conn.topic}: cannot parse the bag's definition of "
                           f'{conn.msgtype}: {exc}') from None
    if types:
        typestore.register({k: v for k, v in types.items() if k not in typestore.fielddefs})


def _extractors(contract: Contract) -> Dict[str, List[Tuple[str, str, Callable]]]:
    """topic -> [(key, expected type, msg -> vector)] for every key the contract needs."""
    out: Dict[str, List[Tuple[str, str, Callable]]] = {}
    for key, spec in contract.observations.items():
        fn = None if spec.is_image else (lambda m, s=spec: extract(m, s))
        out.setdefault(spec.topic, []).append((key, spec.type, fn))
    tel = contract.teleop
    joints = contract.action.joints
    out.setdefault(tel.topic, []).append(
        (ACTION_KEY, tel.type, lambda m: extract_action(m, tel.type, joints, tel.topic)))
    return out


def read_bag(path: Path, contract: Contract, typestore=None,
             header_stamps: bool = True) -> BagContents:
    """Every contract key's series from the bag at ``path`` (a bag directory or storage file)."""
    path = Path(path)
    if not path.exists():
        raise BagError(f'{path}: bag not found')
    if path.is_dir() and not (path / METADATA).exists():
        raise BagError(f'{path}: not a rosbag2 directory (metadata.yaml missing)')
    info = _check_metadata(path)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # noqa: BLE001 - ReaderError, YAML, sqlite, mcap errors alike
        text = one_line(exc)
        hint = '' if 'metadata' in text else ' (truncated or corrupt storage file?)'
        raise BagError(f'{path}: cannot open bag{hint}: {text}') from None
    try:
        contents = _read_open(reader, path, contract, typestore, header_stamps)
    finally:
        reader.close()
    contents.custom_data = dict(info.get('custom_data') or {}) if info else {}
    if path.is_file() and info and len(info.get('relative_file_paths') or []) > 1:
        contents.warnings.append(
            f'one of the {len(info["relative_file_paths"])} files of the bag {path.parent}; '
            f'only this file was read: pass the folder {path.parent} instead')
    return contents


def _bag_info(path: Path) -> Optional[Dict[str, Any]]:
    """The rosbag2_bagfile_information of the bag at ``path`` (a bag folder, or a storage file
    that its folder's metadata.yaml lists); None where there is none or it does not parse (then
    rosbags' own error says why)."""
    folder = path if path.is_dir() else path.parent
    try:
        info = yaml.safe_load((folder / METADATA).read_text())['rosbag2_bagfile_information']
        files = [PurePath(f).name for f in info.get('relative_file_paths') or []]
    except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError):
        return None
    if path.is_file() and path.name not in files:
        return None
    return info


def _check_metadata(path: Path) -> Optional[Dict[str, Any]]:
    """Name the problems of a bag's metadata.yaml that rosbags reports only vaguely."""
    info = _bag_info(path)
    if info is None or not path.is_dir():
        return info
    missing = [f for f in info.get('relative_file_paths') or []
               if not (path / PurePath(f).name).exists()]
    if missing:
        raise BagError(f'{path}: cannot open bag: {", ".join(missing)} named in metadata.yaml '
                       f'{"is" if len(missing) == 1 else "are"} missing')
    for entry in info.get('topics_with_message_count') or []:
        topic = (entry.get('topic_metadata') if isinstance(entry, dict) else None) or {}
        fmt = topic.get('serialization_format', 'cdr')
        if fmt != 'cdr':
            raise BagError(f'{path}: cannot open bag: topic {topic.get("name")} is stored in '
                           f'serialization format {fmt!r}; only cdr is supported')
    return info


def _read_open(reader, path: Path, contract: Contract, typestore,
               header_stamps: bool = True) -> BagContents:
    wanted = _extractors(contract)
    by_topic: Dict[str, list] = {}
    for conn in reader.connections:
        by_topic.setdefault(conn.topic, []).append(conn)
    for topic, entries in wanted.items():
        if topic not in by_topic:
            raise BagError(f'{path}: topic {topic} not in bag (has: '
                           f'{", ".join(sorted(by_topic)) or "no topics"})')
        for conn in by_topic[topic]:
            expected = entries[0][1]
            if conn.msgtype != expected:
                raise BagError(f'{path}: topic {topic} has type {conn.msgtype}, the contract '
                               f'expects {expected}')
    conns = [c for t in wanted for c in by_topic[t]]
    if typestore is None:
        typestore = default_typestore()
    if any(c.msgtype not in typestore.fielddefs for c in conns):
        typestore = default_typestore()
        _register_custom_types(typestore, conns, path)
    for conn in conns:
        if conn.msgtype not in typestore.fielddefs:
            raise BagError(f'{path}: topic {conn.topic}: unknown message type {conn.msgtype} '
                           '(not a standard ROS 2 type and the bag carries no definition)')

    times: Dict[str, List[int]] = {key: [] for e in wanted.values() for key, _, _ in e}
    values: Dict[str, List[np.ndarray]] = {key: [] for key in times}
    from_header: Dict[str, int] = {key: 0 for key in times}
    count = 0
    topic = '?'
    try:
        for conn, stamp, raw in reader.messages(connections=conns):
            topic = conn.topic
            msg = typestore.deserialize_cdr(raw, conn.msgtype)
            header = getattr(msg, 'header', None) if header_stamps else None
            stamped = header is not None and bool(header.stamp.sec or header.stamp.nanosec)
            if stamped:
                stamp = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
            for key, _, fn in wanted[topic]:
                values[key].append(fn(msg) if fn else np.array([len(values[key])], np.float64))
                times[key].append(stamp)
                from_header[key] += stamped
            count += 1
    except FieldError as exc:
        raise BagError(f'{path}: {exc}') from None
    except Exception as exc:  # noqa: BLE001 - truncated chunks, bad CDR, sqlite errors
        raise BagError(f'{path}: topic {topic}: cannot read message {count + 1} '
                       f'(truncated or corrupt file?): {type(exc).__name__}: {one_line(exc)}'
                       ) from None

    series = {}
    for topic, entries in wanted.items():
        for key, _, _ in entries:
            if not times[key]:
                raise BagError(f'{path}: topic {topic} has no messages')
            t = np.asarray(times[key], dtype=np.int64)
            order = np.argsort(t, kind='stable')
            series[key] = TopicSeries(key, topic, t[order], np.stack(values[key])[order],
                                      from_header[key])
    return BagContents(path=path, series=series, message_count=count)
