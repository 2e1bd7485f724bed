"""Camera frames from a rosbag2 recording: only those the policy grid picks, decoded once.

:mod:`dil_ros.data.bag_reader` gives a camera key's messages as ordinals on their topic. The
converter samples them on the grid with :func:`dil_ros.sampling.frame_indices` (the
``previous`` rule as indices: the newest frame at or before each instant, never a blend, whatever
the contract's ``sampling``), then :func:`read_frames` reads the bag again and decodes just
those messages with :mod:`dil_ros.camera_frames` (the policy node's decoder) into uint8 RGB
``[T, H, W, 3]``, written to a memory-mapped file when a folder is given (an episode of two
640x480 cameras at 10 Hz is 550 MB a minute).
"""

import uuid
from pathlib import Path
from typing import Optional

import numpy as np
from rosbags.rosbag2 import Reader

from dil_ros.camera_frames import frame_from_message, ImageError
from dil_ros.contract import ObservationSpec
from dil_ros.data.bag_reader import BagError, default_typestore, one_line


def read_frames(path: Path, spec: ObservationSpec, ordinals: np.ndarray,
                out_dir: Optional[Path] = None) -> np.ndarray:
    """uint8 ``[len(ordinals), H, W, 3]``: message ``ordinals[i]`` of ``spec.topic`` as frame i.

    Every frame must have the first one's size (a camera that changes resolution mid-episode is
    a BagError naming the topic). With ``out_dir`` the frames go to a numpy memmap there.
    """
    ordinals = np.asarray(ordinals, dtype=np.int64).reshape(-1)
    wanted = {int(o): [] for o in np.unique(ordinals)}
    for i, o in enumerate(ordinals):
        wanted[int(o)].append(i)
    out: Optional[np.ndarray] = None
    last = max(wanted) if wanted else -1
    typestore = default_typestore()
    try:
        with Reader(path) as reader:
            conns = [c for c in reader.connections if c.topic == spec.topic]
            for ordinal, (conn, _, raw) in enumerate(reader.messages(connections=conns)):
                if ordinal > last:
                    break
                if ordinal not in wanted:
                    continue
                frame = frame_from_message(typestore.deserialize_cdr(raw, conn.msgtype),
                                           spec.type, spec.topic, spec.encodings)
                if out is None:
                    out = _frames_array(len(ordinals), frame.shape, out_dir)
                if frame.shape != out.shape[1:]:
                    raise BagError(f'{path}: topic {spec.topic}: frame {ordinal} is '
                                   f'{frame.shape[1]}x{frame.shape[0]}, earlier frames '
                                   f'{out.shape[2]}x{out.shape[1]} (one size per camera)')
                out[wanted[ordinal]] = frame
    except ImageError as exc:
        raise BagError(f'{path}: {exc}') from None
    except BagError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated chunks, bad CDR, sqlite errors
        raise BagError(f'{path}: topic {spec.topic}: cannot read camera frames: '
                       f'{type(exc).__name__}: {one_line(exc)}') from None
    if out is None:
        raise BagError(f'{path}: topic {spec.topic} has no messages')
    return out


def _frames_array(length: int, shape, out_dir: Optional[Path]) -> np.ndarray:
    if out_dir is None:
        return np.empty((length, *shape), dtype=np.uint8)
    out_dir.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(out_dir / f'frames-{uuid.uuid4().hex[:12]}.npy', mode='w+',
                                     dtype=np.uint8, shape=(length, *shape))
