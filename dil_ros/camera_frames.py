"""Camera messages -> uint8 RGB arrays ``[H, W, 3]``, without cv_bridge or ROS.

Works on any object with the fields of ``sensor_msgs/Image`` (``height``, ``width``,
``encoding``, ``step``, ``data``) or ``sensor_msgs/CompressedImage`` (``format``, ``data``):
rclpy's messages in the policy node (:mod:`dil_ros.nodes.image_messages`) and rosbags' in the
converter, so training and serving decode frames the same way.

``sensor_msgs/Image`` in rgb8, bgr8, rgba8, bgra8 or mono8 is read with numpy, honouring the
row padding in ``step``; every accepted encoding has one byte per channel, so ``is_bigendian``
does not change its bytes. ``sensor_msgs/CompressedImage`` in jpeg or png (image_transport's
``format``, e.g. ``'jpeg'`` or ``'rgb8; jpeg compressed bgr8'``) is decoded with Pillow. mono8 is
expanded to three equal channels and alpha is dropped, so every camera reaches the policy as RGB.

Anything else (another encoding, a format the contract does not accept, a data length that does
not match the header) raises :class:`ImageError`, one line naming the topic and the encoding.
"""
import io
from typing import Iterable, Optional

import numpy as np

from dil_ros.contract_model import COMPRESSED_IMAGE
from dil_ros.errors import DilRosError

# encoding: (channels, the channels read as R, G, B: a slice, so no fancy-indexing gather)
RAW_ENCODINGS = {
    'rgb8': (3, slice(0, 3)),
    'bgr8': (3, slice(2, None, -1)),
    'rgba8': (4, slice(0, 3)),
    'bgra8': (4, slice(2, None, -1)),
    'mono8': (1, None),
}
COMPRESSED_FORMATS = ('jpeg', 'png')
_PIL_FORMATS = {'JPEG': 'jpeg', 'PNG': 'png', 'MPO': 'jpeg'}  # MPO: a JPEG with extra frames


class ImageError(DilRosError):
    """A camera message that cannot become an RGB frame; the message names topic and encoding."""


def _check_accepted(topic: str, encoding: str, known: Iterable[str],
                    accepted: Optional[Iterable[str]]) -> None:
    allowed = tuple(accepted) if accepted else tuple(known)
    if encoding not in allowed or encoding not in known:
        raise ImageError(f'{topic}: encoding {encoding!r} not accepted (expected one of '
                         f'{", ".join(a for a in allowed if a in known) or ", ".join(known)})')


def image_to_rgb(msg, topic: str, encodings: Optional[Iterable[str]] = None
                 ) -> np.ndarray:
    """A raw ``sensor_msgs/Image`` -> a new uint8 ``[height, width, 3]`` RGB array.

    ``encodings``: those the contract accepts (default: all of :data:`RAW_ENCODINGS`).
    """
    encoding = msg.encoding.lower()
    _check_accepted(topic, encoding, RAW_ENCODINGS, encodings)
    channels, order = RAW_ENCODINGS[encoding]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row = w * channels
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if h <= 0 or w <= 0 or step < row or data.size != h * step:
        raise ImageError(f'{topic}: {encoding} image {w}x{h} with step {step} needs '
                         f'{h} x {max(step, row)} = {h * max(step, row)} bytes, got {data.size}')
    pixels = data.reshape(h, step)[:, :row].reshape(h, w, channels)
    if order is None:
        return np.repeat(pixels, 3, axis=2)
    return np.array(pixels[:, :, order], order='C')  # always a copy: the message buffer is reused


def compressed_format(fmt: str) -> Optional[str]:
    """'jpeg' | 'png' | None from a CompressedImage ``format`` (image_transport writes e.g.
    ``'rgb8; jpeg compressed bgr8'``; plain ``'jpeg'``/``'jpg'``/``'png'`` also occur)."""
    words = fmt.lower().replace(';', ' ').split()
    found = {'jpeg' if w in ('jpeg', 'jpg') else w for w in words} & set(COMPRESSED_FORMATS)
    return found.pop() if len(found) == 1 else None


def compressed_to_rgb(msg, topic: str,
                      encodings: Optional[Iterable[str]] = None) -> np.ndarray:
    """A jpeg or png ``sensor_msgs/CompressedImage`` -> uint8 ``[H, W, 3]`` RGB (Pillow)."""
    from PIL import Image as PilImage, UnidentifiedImageError
    fmt = compressed_format(msg.format)
    _check_accepted(topic, fmt or msg.format, COMPRESSED_FORMATS, encodings)
    try:
        with PilImage.open(io.BytesIO(memoryview(msg.data))) as img:
            decoded = _PIL_FORMATS.get(img.format)
            if decoded != fmt:
                raise ImageError(f'{topic}: format {msg.format!r} but the data is '
                                 f'{img.format or "unknown"}')
            return np.asarray(img.convert('RGB'))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f'{topic}: cannot decode {fmt} data ({len(msg.data)} bytes): '
                         f'{exc}') from None


def frame_from_message(msg, msgtype: str, topic: str,
                       encodings: Optional[Iterable[str]] = None) -> np.ndarray:
    """An Image or CompressedImage (``msgtype`` says which) -> uint8 ``[H, W, 3]`` RGB."""
    if msgtype == COMPRESSED_IMAGE:
        return compressed_to_rgb(msg, topic, encodings)
    return image_to_rgb(msg, topic, encodings)
