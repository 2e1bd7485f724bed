"""The two places where recording needs more than rosbags' public API, wrapped and checked.

rosbags (pinned in constraints.txt; tested with 0.11.9) offers no public way to

* put an MCAP writer's pending chunk on disk before it reaches 1 MiB (its writer only flushes at
  that size or at close), which a recorder that promises to lose at most ``flush_period_s`` of an
  episode needs: :func:`flush_chunk` closes the chunk through ``McapWriter.close_chunk`` and
  fsyncs the file;
* tell how many bytes of a buffer one CDR message occupies (rclpy's serialized messages can carry
  padding that rosbags' public ``deserialize_cdr`` rejects): :func:`cdr_length_reader` calls the
  generated ``deserialize_cdr_le``/``_be`` of ``Typestore.get_msgdef``, which return the end
  offset.

Both are checked before use (:func:`check_mcap_writer` when an episode opens, a round trip of a
known message in :func:`cdr_length_reader`); if a rosbags release changed them, recording stops
with :class:`RosbagsApiError` saying so instead of writing wrong bags.
"""
from importlib.metadata import version
import os
from typing import Callable

from dil_ros.errors import DilRosError

TESTED_WITH = '0.11.9'
_PROBE_TYPE = 'std_msgs/msg/String'
_PROBE = b'\x00\x01\x00\x00' b'\x06\x00\x00\x00' b'probe\x00'  # CDR LE: header, length, text


class RosbagsApiError(DilRosError):
    """rosbags' internals that recording relies on are not what this version of dil_ros expects."""


def _fail(what: str, detail: str) -> RosbagsApiError:
    return RosbagsApiError(
        f'rosbags {version("rosbags")}: {what} is not what dil_ros expects ({detail}); '
        f'install the tested version: pip install rosbags=={TESTED_WITH} (see constraints.txt)')


def check_mcap_writer(writer) -> None:
    """Raise RosbagsApiError unless ``writer`` (an open rosbags Writer with MCAP storage) has the
    pending chunk and ``close_chunk`` that :func:`flush_chunk` uses."""
    storage = getattr(writer, 'storage', None)
    chunk = getattr(storage, 'chunk', None)
    bio = getattr(storage, 'bio', None)
    missing = [name for name, ok in (
        ('Writer.storage', storage is not None),
        ('McapWriter.close_chunk', callable(getattr(storage, 'close_chunk', None))),
        ('McapWriter.chunk.bio', callable(getattr(getattr(chunk, 'bio', None), 'tell', None))),
        ('McapWriter.bio', callable(getattr(bio, 'fileno', None))),
    ) if not ok]
    if missing:
        raise _fail('the MCAP writer', f'missing {", ".join(missing)}')


def flush_chunk(writer, synced_to: int = 0) -> int:
    """Write the pending MCAP chunk (if any) and fsync the file when it grew past ``synced_to``
    (rosbags also writes chunks itself, at 1 MiB). Returns the file size now on disk.

    ``writer`` must have passed :func:`check_mcap_writer`.
    """
    storage = writer.storage
    if storage.chunk.bio.tell():
        storage.close_chunk()
    storage.bio.flush()
    size = storage.bio.tell()
    if size > synced_to:
        os.fsync(storage.bio.fileno())
    return size


def cdr_length_reader(store, msgtype: str) -> Callable[[memoryview], int]:
    """``f(raw) -> n``: the length in bytes of the CDR message at the start of ``raw``
    (encapsulation header included). Raises ValueError when ``raw`` does not decode."""
    _check_cdr_api(store)
    return _length_reader(store, msgtype)


def _length_reader(store, msgtype: str) -> Callable[[memoryview], int]:
    msgdef = store.get_msgdef(msgtype)
    little, big, cls = msgdef.deserialize_cdr_le, msgdef.deserialize_cdr_be, msgdef.cls

    def length(raw: memoryview) -> int:
        if len(raw) < 4 or raw[0] != 0 or raw[1] > 1:
            raise ValueError('invalid CDR encapsulation header')
        return (little if raw[1] else big)(raw[4:], 0, cls, store)[1] + 4
    return length


_cdr_api_checked = False


def _check_cdr_api(store) -> None:
    """Once per process: a padded known message must measure as its unpadded length."""
    global _cdr_api_checked
    if _cdr_api_checked:
        return
    try:
        measured = _length_reader(store, _PROBE_TYPE)(memoryview(_PROBE + bytes(8)))
    except Exception as exc:  # noqa: BLE001 - any change in the private API lands here
        raise _fail('the CDR deserialiser (Msgdef.deserialize_cdr_le/_be)',
                    f'{type(exc).__name__}: {exc}') from None
    if measured != len(_PROBE):
        raise _fail('the CDR deserialiser (Msgdef.deserialize_cdr_le/_be)',
                    f'measured {measured} bytes for a {len(_PROBE)}-byte message')
    _cdr_api_checked = True
