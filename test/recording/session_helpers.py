"""Helpers shared by the recording tests: a recorder on a temp folder, feeding, reading back."""
import json
import time

from rosbags.rosbag2 import Reader
from rosbags.typesys import get_typestore, Stores

from dil_ros.recording import Recorder, Session
from dil_ros.recording.bag_metadata import bag_custom_data

STORE = get_typestore(Stores.ROS2_KILTED)


def make_recorder(path, msgs, **kw):
    topics = {t: ty for t, (ty, _) in msgs.items()}
    kw.setdefault('flush_period_s', 0.05)
    return Recorder(Session(path, info={'contract': 'mujoco_arm'}), topics,
                    metadata={'task': 'stack', 'operator': 'ann', 'robot': 'arm1'}, **kw)


def feed(rec, msgs):
    for topic, (_, datas) in msgs.items():
        for data in datas:
            rec.put(topic, data)


def crash_mid_episode(rec, msgs):
    """Start an episode, let its chunks reach disk, then "crash": nothing more is written or
    closed (the writer stops accepting, as if the process died)."""
    rec.start()
    feed(rec, msgs)
    time.sleep(0.3)  # > flush period: chunks on disk
    rec.episode._accepting = False


def read_bag(path):
    """Every message decoded with rosbags: topic -> list of messages."""
    out = {}
    assert bag_custom_data(path)['task'] == 'stack'
    with Reader(path) as reader:
        for conn, _, raw in reader.messages():
            out.setdefault(conn.topic, []).append(STORE.deserialize_cdr(raw, conn.msgtype))
    return out


def read_index(path):
    return json.loads((path / 'episodes.json').read_text())
