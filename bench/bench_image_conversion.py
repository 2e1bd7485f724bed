"""Per-frame cost of turning camera messages into uint8 RGB arrays (dil_ros.nodes.image_messages).

One 640x480 frame per encoding, converted ``--repeat`` times on one thread; prints a table of
milliseconds per frame (median and p95)::

    .venv/bin/python bench/bench_image_conversion.py [--width 640] [--height 480] [--repeat 200]
"""
import argparse
import array
import io
import time

import numpy as np


def messages(width: int, height: int):
    """{label: message} for the encodings the policy node meets most."""
    from PIL import Image as PilImage
    from sensor_msgs.msg import CompressedImage

    from dil_ros.nodes.image_messages import rgb8_image
    yy, xx = np.mgrid[0:height, 0:width]   # a smooth scene with edges, as a camera sees
    rgb = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) % 256], -1).astype(np.uint8)
    rgb[height // 3:height // 2, width // 3:width // 2] = (220, 40, 40)
    out = {'rgb8': rgb8_image(rgb)}
    bgr = rgb8_image(rgb[:, :, ::-1])
    bgr.encoding = 'bgr8'
    out['bgr8'] = bgr
    rgba = rgb8_image(rgb)
    rgba.encoding, rgba.step = 'rgba8', width * 4
    rgba.data = array.array('B', np.concatenate(
        [rgb, np.full((height, width, 1), 255, np.uint8)], 2).tobytes())
    out['rgba8'] = rgba
    for fmt, kwargs in (('jpeg', {'quality': 90}), ('png', {})):
        buf = io.BytesIO()
        PilImage.fromarray(rgb).save(buf, format=fmt.upper(), **kwargs)
        out[fmt] = CompressedImage(format=fmt, data=array.array('B', buf.getvalue()))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--repeat', type=int, default=200)
    args = parser.parse_args()
    import os
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from dil_ros.nodes.image_messages import to_rgb
    print(f'{args.width}x{args.height}, {args.repeat} conversions each')
    print(f'{"encoding":<9} {"bytes":>9} {"median ms":>10} {"p95 ms":>8}')
    for label, msg in messages(args.width, args.height).items():
        to_rgb(msg, '/bench')
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            frame = to_rgb(msg, '/bench')
            times.append(time.perf_counter() - t)
        assert frame.shape == (args.height, args.width, 3)
        ms = np.array(times) * 1e3
        print(f'{label:<9} {len(msg.data):>9} {np.median(ms):>10.3f} '
              f'{np.percentile(ms, 95):>8.3f}')


if __name__ == '__main__':
    main()
