"""Camera messages <-> uint8 RGB arrays ``[H, W, 3]``, without cv_bridge.

The conversions themselves are ROS-free, in :mod:`dil_ros.camera_frames` (the converter reads
rosbags' messages with them); this module adds rclpy's message classes.

Which encodings and formats are read, and the errors for the rest, are described there.
"""
import array
from typing import Iterable, Optional

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from dil_ros.camera_frames import (  # noqa: F401 - the conversions live ROS-free there
    COMPRESSED_FORMATS, compressed_format, compressed_to_rgb, image_to_rgb, ImageError,
    RAW_ENCODINGS)


def to_rgb(msg, topic: str, encodings: Optional[Iterable[str]] = None) -> np.ndarray:
    """Image or CompressedImage -> uint8 ``[H, W, 3]`` RGB."""
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb(msg, topic, encodings)
    return image_to_rgb(msg, topic, encodings)


def rgb8_image(frame: np.ndarray, stamp=None, frame_id: str = '') -> Image:
    """uint8 ``[H, W, 3]`` RGB -> an rgb8 ``sensor_msgs/Image`` (rows unpadded)."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    h, w = frame.shape[:2]
    msg = Image(height=h, width=w, encoding='rgb8', is_bigendian=0, step=w * 3)
    msg.data = array.array('B', frame.tobytes())  # array.array: no per-byte check on assignment
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg
