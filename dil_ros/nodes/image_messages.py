"""Camera messages <-> uint8 RGB arrays ``[H, W, 3]``, without cv_bridge.

The conversions themselves are ROS-free, in :mod:`dil_ros.camera_frames` (the converter reads
rosbags' messages with them); this module adds rclpy's message classes.

``sensor_msgs/Image`` in rgb8, bgr8, rgba8, bgra8 or mono8 is read with numpy, honouring the
row padding in ``step``; every accepted encoding has one byte per channel, so ``is_bigendian``
does not change its bytes. ``sensor_msgs/CompressedImage`` in jpeg or png (image_transport's
``format``, e.g. ``'jpeg'`` or ``'rgb8; jpeg compressed bgr8'``) is decoded with Pillow. mono8 is
expanded to three equal channels and alpha is dropped, so every camera reaches the policy as RGB.

Anything else (another encoding, a format the contract does not accept, a data length that does
not match the header) raises :class:`ImageError`, one line naming the topic and the encoding.
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
