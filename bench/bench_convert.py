"""Conversion speed of `dil-ros convert` in messages per second on a generated bag.

The bag follows the mujoco_arm contract: /joint_states (JointState, 4 joints) at 500 Hz,
/arm_controller/commands (Float64MultiArray) at 200 Hz and /task/goal (Point) at 100 Hz,
60 s by default. Usage: python bench/bench_convert.py [--seconds 60] [--storage mcap sqlite3]
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from dil_ros.data.bag_reader import default_typestore
from dil_ros.contract import default_contract_path, load_contract
from dil_ros.data.convert import bag_to_episode, ConvertOptions

RATES = {'/joint_states': 500, '/arm_controller/commands': 200, '/task/goal': 100}


def write_bag(path: Path, seconds: float, storage: str) -> int:
    """Write the benchmark bag; returns its message count."""
    ts = default_typestore()
    T = ts.types
    t0 = 1_700_000_000 * 10**9
    empty = np.zeros(0)
    layout = T['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
    names = ['elbow', 'gripper', 'shoulder_pan', 'shoulder_lift']

    def make(topic, t):
        ns = t0 + round(t * 1e9)
        if topic == '/joint_states':
            hdr = T['std_msgs/msg/Header'](
                stamp=T['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9),
                frame_id='')
            return 'sensor_msgs/msg/JointState', T['sensor_msgs/msg/JointState'](
                header=hdr, name=names, position=np.array([np.sin(t), 0.0, t, -t]),
                velocity=empty, effort=empty)
        if topic == '/task/goal':
            return 'geometry_msgs/msg/Point', T['geometry_msgs/msg/Point'](x=t, y=0.0, z=1.0)
        return 'std_msgs/msg/Float64MultiArray', T['std_msgs/msg/Float64MultiArray'](
            layout=layout, data=np.array([t, -t, np.cos(t)]))

    events = sorted((k / hz, topic) for topic, hz in RATES.items()
                    for k in range(int(seconds * hz)))
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns = {}
        for t, topic in events:
            msgtype, msg = make(topic, t)
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=ts)
            writer.write(conns[topic], t0 + round(t * 1e9), ts.serialize_cdr(msg, msgtype))
    return len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=60.0)
    parser.add_argument('--storage', nargs='+', default=['mcap', 'sqlite3'],
                        choices=['mcap', 'sqlite3'])
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    contract = load_contract(default_contract_path())
    with tempfile.TemporaryDirectory() as tmp:
        for storage in args.storage:
            bag = Path(tmp) / f'bench_{storage}'
            count = write_bag(bag, args.seconds, storage)
            best = float('inf')
            for _ in range(args.repeats):
                start = time.perf_counter()
                episode, _, n = bag_to_episode(bag, contract, ConvertOptions())
                best = min(best, time.perf_counter() - start)
            assert n == count
            print(json.dumps({'bench': 'convert', 'storage': storage, 'messages': count,
                              'frames': len(episode), 'seconds': round(best, 3),
                              'messages_per_s': round(count / best)}))


if __name__ == '__main__':
    main()
