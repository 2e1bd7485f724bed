"""Camera messages -> uint8 RGB frames: every raw encoding, row padding, jpeg/png, errors."""
import array
import io

import numpy as np
import pytest

pytest.importorskip('sensor_msgs')
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from dil_ros.nodes.image_messages import (  # noqa: E402
    compressed_format, ImageError, rgb8_image, to_rgb)

TOPIC = '/camera/front/image_raw'


def _frame(h=5, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _raw(pixels: np.ndarray, encoding: str, pad: int = 0) -> Image:
    h, w, c = pixels.shape
    rows = np.zeros((h, w * c + pad), np.uint8)
    rows[:, :w * c] = pixels.reshape(h, w * c)
    rows[:, w * c:] = 77   # padding must never reach the frame
    msg = Image(height=h, width=w, encoding=encoding, step=w * c + pad)
    msg.data = array.array('B', rows.tobytes())
    return msg


@pytest.mark.parametrize('pad', [0, 3])
def test_raw_encodings_give_rgb(pad):
    rgb = _frame()
    alpha = np.full(rgb.shape[:2] + (1,), 200, np.uint8)
    cases = {
        'rgb8': rgb,
        'bgr8': rgb[:, :, ::-1],
        'rgba8': np.concatenate([rgb, alpha], axis=2),
        'bgra8': np.concatenate([rgb[:, :, ::-1], alpha], axis=2),
    }
    for encoding, pixels in cases.items():
        out = to_rgb(_raw(pixels, encoding, pad), TOPIC)
        assert out.dtype == np.uint8 and out.shape == (5, 7, 3), encoding
        np.testing.assert_array_equal(out, rgb, err_msg=encoding)
    mono = rgb[:, :, :1]
    out = to_rgb(_raw(mono, 'mono8', pad), TOPIC)
    np.testing.assert_array_equal(out, np.repeat(mono, 3, axis=2))


def test_frame_is_a_copy_of_the_message_buffer():
    msg = _raw(_frame(), 'rgb8')
    out = to_rgb(msg, TOPIC)
    before = out.copy()
    msg.data[0] = (msg.data[0] + 1) % 256
    np.testing.assert_array_equal(out, before)
    assert out.flags.writeable


def test_wrong_encoding_names_topic_and_encoding():
    msg = _raw(_frame(), 'rgb8')
    msg.encoding = '16UC1'
    with pytest.raises(ImageError, match=r"/camera/front/image_raw: encoding '16uc1' not acc"):
        to_rgb(msg, TOPIC)
    msg.encoding = 'bgr8'
    with pytest.raises(ImageError, match=r"'bgr8' not accepted \(expected one of rgb8\)"):
        to_rgb(msg, TOPIC, encodings=('rgb8',))


def test_data_length_mismatch_is_one_line():
    msg = _raw(_frame(), 'rgb8')
    msg.data = msg.data[:-1]
    with pytest.raises(ImageError) as info:
        to_rgb(msg, TOPIC)
    text = str(info.value)
    assert '\n' not in text and TOPIC in text and 'rgb8' in text and 'got 104' in text
    msg = _raw(_frame(), 'rgb8')
    msg.step = 20   # shorter than a row of 7 rgb pixels
    with pytest.raises(ImageError, match='step 20'):
        to_rgb(msg, TOPIC)


def _compressed(rgb: np.ndarray, pil_format: str, fmt: str) -> CompressedImage:
    from PIL import Image as PilImage
    buf = io.BytesIO()
    PilImage.fromarray(rgb).save(buf, format=pil_format, **(
        {'quality': 95} if pil_format == 'JPEG' else {}))
    return CompressedImage(format=fmt, data=array.array('B', buf.getvalue()))


def test_png_is_lossless_and_jpeg_close():
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:, :12] = (200, 30, 40)
    rgb[:, 12:] = (10, 180, 90)
    np.testing.assert_array_equal(to_rgb(_compressed(rgb, 'PNG', 'png'), TOPIC), rgb)
    out = to_rgb(_compressed(rgb, 'JPEG', 'rgb8; jpeg compressed bgr8'), TOPIC)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - rgb).mean() < 4.0


def test_compressed_errors_name_topic_and_format():
    rgb = _frame()
    with pytest.raises(ImageError, match=r"/camera/front/image_raw: encoding 'tiff' not acc"):
        to_rgb(CompressedImage(format='tiff', data=array.array('B', b'xx')), TOPIC)
    with pytest.raises(ImageError, match="format 'jpeg' but the data is PNG"):
        to_rgb(_compressed(rgb, 'PNG', 'jpeg'), TOPIC)
    with pytest.raises(ImageError, match='cannot decode png data'):
        to_rgb(CompressedImage(format='png', data=array.array('B', b'not a png')), TOPIC)
    with pytest.raises(ImageError, match="'png' not accepted"):
        to_rgb(_compressed(rgb, 'PNG', 'png'), TOPIC, encodings=('jpeg',))


def test_compressed_format_parsing():
    assert compressed_format('jpeg') == 'jpeg'
    assert compressed_format('JPG') == 'jpeg'
    assert compressed_format('bgr8; png compressed bgr8') == 'png'
    assert compressed_format('rgb8') is None
    assert compressed_format('') is None


def test_rgb8_image_round_trip():
    rgb = _frame(4, 6)
    msg = rgb8_image(rgb, frame_id='front')
    assert (msg.height, msg.width, msg.step, msg.encoding) == (4, 6, 18, 'rgb8')
    assert msg.header.frame_id == 'front'
    np.testing.assert_array_equal(to_rgb(msg, TOPIC), rgb)
