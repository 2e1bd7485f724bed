"""Recorder throughput: can recorder_node store 5 JointState topics x 1 kHz and two 640x480
cameras at 30 Hz (an rgb8 Image and a jpeg CompressedImage)?

Three processes: the recorder node (``python -m dil_ros.nodes.recorder_node``), a publisher process
(this file with ``--publish``) and this driver, which starts/stops the episode over the recorder's
services and compares published with stored counts (from the session index) per topic, and reads
the recorder's CPU seconds and peak RSS from /proc. Cameras publish with sensor-data QoS (best
effort, as camera drivers do; ``--camera-qos reliable`` for reliable, depth 100)::

    .venv/bin/python bench/bench_recorder.py [--duration 60] [--rate 1000] [--topics 5]
    [--image-rate 30] [--jpeg-rate 30]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

JS = 'sensor_msgs/msg/JointState'
IMG = 'sensor_msgs/msg/Image'
JPEG = 'sensor_msgs/msg/CompressedImage'


def topics(args):
    out = {f'/bench/joint_states_{i}': JS for i in range(args.topics)}
    if args.image_rate > 0:
        out['/bench/image'] = IMG
    if args.jpeg_rate > 0:
        out['/bench/image/compressed'] = JPEG
    return out


def jpeg_frame(width, height):
    """A camera-like 640x480 jpeg (smooth shading plus noise: ~50-100 kB at quality 90)."""
    import io
    import numpy as np
    from PIL import Image as PilImage
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1).astype(np.int16)
    rgb += np.random.default_rng(0).integers(-8, 8, rgb.shape, dtype=np.int16)
    buf = io.BytesIO()
    PilImage.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(buf, format='JPEG', quality=90)
    return buf.getvalue()


def publish(args):
    """Publisher process: wait for the recorder to match, publish for --duration, print counts."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data, QoSProfile
    from sensor_msgs.msg import CompressedImage, Image, JointState
    rclpy.init()
    node = rclpy.create_node('bench_publisher')
    names = [f'joint_{j}' for j in range(7)]
    camera_qos = (qos_profile_sensor_data if args.camera_qos == 'sensor'
                  else QoSProfile(depth=100))
    classes = {JS: JointState, IMG: Image, JPEG: CompressedImage}
    pubs = {t: node.create_publisher(classes[ty], t,
                                     QoSProfile(depth=args.depth) if ty == JS else camera_qos)
            for t, ty in topics(args).items()}
    deadline = time.time() + 20
    while time.time() < deadline and not all(p.get_subscription_count() for p in pubs.values()):
        time.sleep(0.05)
    time.sleep(1.0)  # matched here does not mean matched there: let discovery settle both ways
    image = Image(height=args.height, width=args.width, encoding='rgb8', step=3 * args.width,
                  data=bytes(3 * args.width * args.height))
    jpeg = CompressedImage(format='jpeg', data=jpeg_frame(args.width, args.height))
    js = JointState(name=names, position=[0.0] * 7, velocity=[0.0] * 7, effort=[0.0] * 7)
    sent = {t: 0 for t in pubs}
    js_topics = [t for t, ty in topics(args).items() if ty == JS]
    t0 = time.perf_counter()
    next_js, next_img, next_jpeg, tick = t0, t0, t0, 0
    end = t0 + args.duration
    js_period = 1.0 / args.rate
    img_period = 1.0 / args.image_rate if args.image_rate > 0 else float('inf')
    jpeg_period = 1.0 / args.jpeg_rate if args.jpeg_rate > 0 else float('inf')
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if now >= next_js:
            stamp = node.get_clock().now().to_msg()
            js.header.stamp = stamp
            js.position[0] = float(tick)
            for t in js_topics:
                pubs[t].publish(js)
                sent[t] += 1
            tick += 1
            next_js += js_period
        if now >= next_img:
            image.header.stamp = node.get_clock().now().to_msg()
            pubs['/bench/image'].publish(image)
            sent['/bench/image'] += 1
            next_img += img_period
        if now >= next_jpeg:
            jpeg.header.stamp = node.get_clock().now().to_msg()
            pubs['/bench/image/compressed'].publish(jpeg)
            sent['/bench/image/compressed'] += 1
            next_jpeg += jpeg_period
        sleep = min(next_js, next_img, next_jpeg) - time.perf_counter()
        if sleep > 0:
            time.sleep(sleep)
    elapsed = time.perf_counter() - t0
    from rclpy.duration import Duration
    acked = all(p.wait_for_all_acked(Duration(seconds=10)) for p in pubs.values())
    print(json.dumps({'sent': sent, 'elapsed': elapsed, 'acked': acked}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


def drive(args):
    import rclpy
    from std_msgs.msg import String
    from std_srvs.srv import Trigger
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile

    out = Path(args.output or tempfile.mkdtemp(prefix='bench_recorder_')) / 'session'
    extra = [f'{t}:{ty}' for t, ty in topics(args).items()]
    rec = subprocess.Popen([sys.executable, '-m', 'dil_ros.nodes.recorder_node', '--ros-args',
                            '-p', f'output_dir:={out}', '-p', f'extra_topics:={extra!r}',
                            '-p', f'num_threads:={args.threads}', '-p', 'status_period_s:=0.5',
                            '-p', f'qos_depth:={args.depth}'])
    peak_rss = [0]

    def watch_rss():
        while rec.poll() is None:
            try:
                with open(f'/proc/{rec.pid}/status') as f:
                    rss = [int(x.split()[1]) for x in f if x.startswith('VmRSS')]
                peak_rss[0] = max(peak_rss[0], rss[0] if rss else 0)
            except OSError:
                return
            time.sleep(0.2)
    threading.Thread(target=watch_rss, daemon=True).start()
    rclpy.init()
    node = rclpy.create_node('bench_driver')
    status = []
    node.create_subscription(String, '/recorder_node/status', lambda m: status.append(
        json.loads(m.data)), QoSProfile(depth=5, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()

    def call(name):
        cli = node.create_client(Trigger, f'/recorder_node/{name}')
        assert cli.wait_for_service(timeout_sec=30), f'no /recorder_node/{name}'
        done = threading.Event()
        fut = cli.call_async(Trigger.Request())
        fut.add_done_callback(lambda _: done.set())
        assert done.wait(120), f'{name}: no reply'
        return fut.result()

    try:
        print('start:', call('start').message, flush=True)
        pub = subprocess.run([sys.executable, __file__, '--publish', *sys.argv[1:]],
                             capture_output=True, text=True, timeout=args.duration + 60)
        if pub.returncode:
            print(pub.stderr, file=sys.stderr)
            return 1
        result = json.loads(pub.stdout.strip().splitlines()[-1])
        # Wait until the recorder stops growing (its queue drained), then keep the episode.
        last, stable = None, 0
        while stable < 3:
            time.sleep(0.5)
            cur = status[-1] if status else None
            key = (json.dumps(cur['counts'], sort_keys=True), cur['queued']) if cur else None
            stable = stable + 1 if key == last and cur and cur['queued'] == 0 else 0
            last = key
        print('stop:', call('stop').message, flush=True)
        with open(f'/proc/{rec.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    finally:
        rec.terminate()
        print('recorder exit code', rec.wait(30))
        executor.shutdown()
        spin.join(5)
        node.destroy_node()
        rclpy.try_shutdown()
    entry = json.loads((out / 'episodes.json').read_text())['episodes'][-1]
    elapsed = result['elapsed']
    total_sent = total_stored = 0
    print(f'\n{"topic":30s} {"published":>10s} {"stored":>10s} {"lost":>8s} {"msg/s":>9s}')
    for topic, sent in result['sent'].items():
        stored = entry['counts'].get(topic, 0)
        total_sent += sent
        total_stored += stored
        print(f'{topic:30s} {sent:10d} {stored:10d} {sent - stored:8d} {stored / elapsed:9.1f}')
    loss = 100.0 * (total_sent - total_stored) / max(1, total_sent)
    size = sum(f.stat().st_size for f in (out / entry['name']).iterdir()) / 2**20
    print(f'{"total":30s} {total_sent:10d} {total_stored:10d} {total_sent - total_stored:8d} '
          f'{total_stored / elapsed:9.1f}')
    print(f'\n{elapsed:.1f} s, loss {loss:.3f} %, bag {size:.0f} MiB '
          f'({size / elapsed:.1f} MiB/s), '
          f'{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; recorder: {cpu_s:.1f} CPU-s, '
          f'peak RSS {peak_rss[0] / 1024:.0f} MiB; '
          f'bag: {out / entry["name"]}')
    if total_sent != total_stored:
        print('missing JointState sequence numbers (first/last 3 per topic):')
        print(f'  (publisher saw every message acknowledged: {result["acked"]})')
        for topic, gaps in missing_sequences(out / entry['name'], result['sent']).items():
            print(f'  {topic}: {len(gaps)} missing {gaps[:3]} .. {gaps[-3:]}')
    return 0 if total_sent == total_stored else 2


def missing_sequences(bag, sent):
    """Which published ticks (position[0]) never made it into the bag, per JointState topic."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import get_typestore, Stores
    store = get_typestore(Stores.ROS2_KILTED)
    seen = {}
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.msgtype == JS and c.topic.startswith('/bench')]
        for conn, _, raw in reader.messages(connections=conns):
            seen.setdefault(conn.topic, set()).add(
                int(store.deserialize_cdr(raw, JS).position[0]))
    return {t: sorted(set(range(sent[t])) - seen.get(t, set())) for t in sent if t in seen}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=60.0)
    parser.add_argument('--rate', type=float, default=1000.0, help='JointState rate per topic')
    parser.add_argument('--topics', type=int, default=5, help='JointState topics')
    parser.add_argument('--image-rate', type=float, default=30.0, help='rgb8 Image camera rate')
    parser.add_argument('--jpeg-rate', type=float, default=30.0,
                        help='jpeg CompressedImage camera rate')
    parser.add_argument('--camera-qos', choices=('sensor', 'reliable'), default='sensor',
                        help='camera publishers: sensor-data QoS (best effort) or reliable')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--threads', type=int, default=2, help='recorder executor threads')
    parser.add_argument('--depth', type=int, default=5000, help='QoS history depth (both ends)')
    parser.add_argument('--output', default='', help='session parent folder (default: temp)')
    parser.add_argument('--publish', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run `finally`: stop the recorder
    return publish(args) if args.publish else drive(args)


if __name__ == '__main__':
    sys.exit(main())
