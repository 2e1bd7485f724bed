"""The recorder's ``extra_topics`` parameter, checked before any message type is imported.

Each entry is ``'topic:pkg/msg/Type'``, or ``'topic'`` to take the type from the ROS graph once a
publisher appears; empty entries are ignored (a ROS string-array parameter cannot be empty).
"""
from dataclasses import dataclass, field
import re
from typing import Dict, List, Mapping, Sequence

from dil_ros.errors import DilRosError

PARAMETER = 'extra_topics'
MSG_TYPE = re.compile(r'[A-Za-z][A-Za-z0-9_]*/msg/[A-Za-z][A-Za-z0-9_]*')
_NAME = r'[A-Za-z_][A-Za-z0-9_]*'
TOPIC = re.compile(rf'(~/|/)?{_NAME}(/{_NAME})*')


class ExtraTopicError(DilRosError):
    """An ``extra_topics`` entry is malformed; the message names the entry."""


@dataclass
class ExtraTopics:
    """Typed entries (topic -> type), topics whose type the graph will tell, and for each topic
    the entry it came from (for error messages)."""

    typed: Dict[str, str] = field(default_factory=dict)
    pending: List[str] = field(default_factory=list)
    entries: Dict[str, str] = field(default_factory=dict)


def parse_extra_topics(values: Sequence[str], recorded: Mapping[str, str]) -> ExtraTopics:
    """Check the ``extra_topics`` entries; topics ``recorded`` already (topic -> type, from the
    contract) are skipped. Raises ExtraTopicError naming the entry."""
    out = ExtraTopics()
    for i, entry in enumerate(values):
        if not entry:
            continue
        where = f'{PARAMETER}[{i}] {entry!r}'
        topic, colon, msgtype = entry.partition(':')
        if not TOPIC.fullmatch(topic):
            raise ExtraTopicError(f'{where}: {topic!r} is not a ROS topic name')
        if colon and not MSG_TYPE.fullmatch(msgtype):
            raise ExtraTopicError(f"{where}: message type {msgtype!r} is not 'pkg/msg/Type'")
        if topic in out.entries:
            raise ExtraTopicError(f'{where}: {topic} is listed twice')
        if topic in recorded:
            if msgtype and msgtype != recorded[topic]:
                raise ExtraTopicError(f'{where}: the contract records {topic} as '
                                      f'{recorded[topic]}')
            continue  # the contract records it already
        out.entries[topic] = where
        if msgtype:
            out.typed[topic] = msgtype
        else:
            out.pending.append(topic)
    return out
