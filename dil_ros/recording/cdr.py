"""Message types for the bag writer: definitions, hashes and CDR length normalisation.

``rclpy.serialization.serialize_message`` (and so anything published with ``publish`` of those
bytes) can return CDR buffers with trailing padding beyond the 3 bytes rosbags tolerates; rosbags'
reader then rejects the message ("CDR message size mismatch"). :class:`TypeRegistry.normalise`
trims such buffers to the exact encoded length, so every stored message decodes with rosbags and
ros2 bag alike.
"""
import importlib
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from rosbags.typesys import get_types_from_msg, get_typestore, Stores

from dil_ros.errors import DilRosError
from dil_ros.recording.rosbags_private import cdr_length_reader


class UnknownTypeError(DilRosError):
    """A message type whose definition we cannot find (not in rosbags' store, no .msg file)."""


def _find_msg_file(msgtype: str) -> Optional[Path]:
    """The .msg file of an installed interface package (share/<pkg>/msg/<Type>.msg), if any."""
    pkg, _, name = msgtype.split('/')
    try:
        from ament_index_python.packages import get_package_share_directory
        path = Path(get_package_share_directory(pkg)) / 'msg' / f'{name}.msg'
        if path.exists():
            return path
    except Exception:  # noqa: BLE001 - ament index optional
        pass
    try:
        module = importlib.import_module(pkg)
        for base in Path(module.__file__).parents:
            cand = base / 'share' / pkg / 'msg' / f'{name}.msg'
            if cand.exists():
                return cand
    except Exception:  # noqa: BLE001
        pass
    return None


class TypeRegistry:
    """Message definitions and rihs01 hashes for the writer, plus CDR normalisation."""

    def __init__(self, store: Stores = Stores.ROS2_KILTED):
        self.store = get_typestore(store)
        self._lengths: Dict[str, Callable[[memoryview], int]] = {}

    def ensure(self, msgtype: str, msgdef: Optional[str] = None) -> None:
        """Make ``msgtype`` known, from ``msgdef`` text or the installed .msg file when needed."""
        if msgtype in self.store.fielddefs:
            return
        if msgdef is None:
            path = _find_msg_file(msgtype)
            if path is None:
                raise UnknownTypeError(f'{msgtype}: unknown message type (not in the rosbags type '
                                       'store and no installed .msg file found)')
            msgdef = path.read_text()
        self.store.register(get_types_from_msg(msgdef, msgtype))

    def definition(self, msgtype: str) -> Tuple[str, str]:
        """(message definition text, rihs01 hash) for the bag's connection record."""
        self.ensure(msgtype)
        msgdef, _ = self.store.generate_msgdef(msgtype, ros_version=2)
        return msgdef, self.store.hash_rihs01(msgtype)

    def normalise(self, data: bytes, msgtype: str) -> bytes:
        """``data`` trimmed to its exact CDR length (a ValueError if it does not decode)."""
        func = self._lengths.get(msgtype)
        if func is None:
            self.ensure(msgtype)
            func = self._lengths[msgtype] = cdr_length_reader(self.store, msgtype)
        view = memoryview(data)
        try:
            end = func(view)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is reported alike
            raise ValueError(f'{msgtype}: message does not decode: {exc}') from None
        if end > len(data):
            raise ValueError(f'{msgtype}: message truncated ({len(data)} < {end} bytes)')
        if end == len(data):
            return data
        # Drop the padding and clear the XCDR padding count in the options field.
        return bytes(view[:2]) + b'\x00\x00' + bytes(view[4:end])
