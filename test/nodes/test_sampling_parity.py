"""Training and serving see the same observations.

An episode recorded over DDS by the real recorder_node, converted by ``dil-ros convert``'s
library function, and the same bag's messages replayed (in stamp order, stamped and extracted as
policy_node does) into the policy controller's observation buffer give the same [To, D] windows
as the dataset's frames, under both sampling rules.
"""
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')

from builtin_interfaces.msg import Time  # noqa: E402
from geometry_msgs.msg import Point  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from dil_ros.contract import contract_from_mapping  # noqa: E402
from dil_ros.control.controller import ControlConfig, PolicyController  # noqa: E402
from dil_ros.data.convert import convert_bags, ConvertOptions  # noqa: E402
from dil_ros.data.msg_fields import extract  # noqa: E402
from dil_ros.nodes import messages  # noqa: E402

STORE = get_typestore(Stores.ROS2_KILTED)
JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow']
PERIOD_NS = 10_000_000          # joint states: 100 Hz, stamped on an exact lattice like a sim
STEPS = 250


class Robot(Node):
    """Stamped joint states at 100 Hz, a headerless goal at 10 Hz, teleop commands at 20 Hz."""

    def __init__(self):
        super().__init__('parity_robot')
        self.js = self.create_publisher(JointState, '/joint_states', 100)
        self.goal = self.create_publisher(Point, '/task/goal', 100)
        self.cmd = self.create_publisher(Float64MultiArray, '/arm_controller/commands', 100)
        self.start = self.create_client(Trigger, '/recorder_node/start')
        self.stop = self.create_client(Trigger, '/recorder_node/stop')

    def call(self, client):
        assert client.wait_for_service(timeout_sec=10.0)
        done = threading.Event()
        future = client.call_async(Trigger.Request())
        future.add_done_callback(lambda _: done.set())
        assert done.wait(10.0)
        assert future.result().success, future.result().message

    def run(self):
        t0 = self.get_clock().now().nanoseconds // PERIOD_NS * PERIOD_NS
        wall0 = time.monotonic()
        for k in range(STEPS):
            stamp = t0 + k * PERIOD_NS
            q = [np.sin(0.05 * k), np.cos(0.03 * k), 0.01 * k]
            msg = JointState(name=JOINTS, position=[float(v) for v in q])
            msg.header.stamp = Time(sec=stamp // 10 ** 9, nanosec=stamp % 10 ** 9)
            self.js.publish(msg)
            if k % 10 == 3:
                self.goal.publish(Point(x=0.004 * k, y=-0.002 * k, z=1.0))
            if k % 5 == 1:
                self.cmd.publish(Float64MultiArray(data=[float(v) for v in q]))
            time.sleep(max(0.0, wall0 + (k + 1) * PERIOD_NS * 1e-9 - time.monotonic()))


@pytest.fixture(scope='module')
def recorded(ros_context, tmp_path_factory):
    from dil_ros.nodes.recorder_node import RecorderNode
    session = tmp_path_factory.mktemp('parity') / 'session'
    rec = RecorderNode(parameter_overrides=[
        Parameter('output_dir', value=str(session)), Parameter('flush_period_s', value=0.1)])
    robot = Robot()
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(rec)
    executor.add_node(robot)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                p.get_subscription_count() for p in (robot.js, robot.goal, robot.cmd)):
            time.sleep(0.05)
        robot.call(robot.start)
        robot.run()
        time.sleep(0.3)          # the last messages reach the recorder
        robot.call(robot.stop)
    finally:
        executor.shutdown()
        thread.join(5)
        rec.close()
        rec.destroy_node()
        robot.destroy_node()
    return session / 'episode_0000'


def replay(bag, contract):
    """(stamp_ns, key, vector) of every observation message, as policy_node would see them."""
    by_topic = {}
    for key, spec in contract.observations.items():
        by_topic.setdefault(spec.topic, []).append(spec)
    out = []
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic in by_topic]
        for conn, log_time, raw in reader.messages(connections=conns):
            msg = STORE.deserialize_cdr(raw, conn.msgtype)
            stamp = messages.stamp_ns(msg, log_time)   # header stamp, else receive time
            out.extend((stamp, spec.key, extract(msg, spec)) for spec in by_topic[conn.topic])
    out.sort(key=lambda m: m[0])
    return out


def next_message_after(stream, end_ns):
    """The stamp by which every key has a message after ``end_ns`` (what 'linear' needs)."""
    first_after = {}
    for stamp, key, _ in stream:
        if stamp > end_ns and key not in first_after:
            first_after[key] = stamp
    return max(first_after.values(), default=end_ns)


@pytest.mark.parametrize('rule', ['previous', 'linear'])
def test_node_windows_equal_dataset_frames(recorded, contract, tmp_path, rule):
    mapping = contract.to_mapping()
    mapping['sampling'] = rule
    c = contract_from_mapping(mapping)
    # The signal moves at up to 5 rad/s (2.5 x the contract's max_velocity), so a publisher that
    # falls behind its lattice stamps under load puts the received commands a second off the
    # stamped states: keep those frames, this test compares windows, not tracking.
    report = convert_bags([recorded], c, tmp_path / 'dataset', ConvertOptions(on_jump='keep'),
                          progress=False)
    assert not report.skipped, report.summary()
    [ep] = report.converted[0].episodes
    assert len(ep) > 20

    ctl = PolicyController(c, ControlConfig(), stamped_keys=['observation.state'])
    stream = replay(recorded, c)
    # 'previous' is causal: the buffer holds exactly what the node had at the frame's instant.
    # 'linear' also needs each key's next message after it (the converter sees the future).
    to, fed, checked = c.n_obs_steps, 0, 0
    for i in range(to - 1, len(ep)):
        end = ep.metadata['start_time_ns'] + round(ep.timestamps[i] * 1e9)
        feed_to = end if rule == 'previous' else next_message_after(stream, end)
        while fed < len(stream) and stream[fed][0] <= feed_to:
            stamp, key, value = stream[fed]
            assert ctl.observe(key, stamp, value) is None
            fed += 1
        window, _ = ctl.buffer.sample(to, c.rate_hz, end_ns=end)
        for key in c.observations:   # the policy takes float32, as the dataset stores
            np.testing.assert_allclose(window[key].astype(np.float32),
                                       ep.observations[key][i - to + 1:i + 1],
                                       rtol=0, atol=1e-6, err_msg=f'{rule} {key} frame {i}')
        checked += 1
    assert checked == len(ep) - to + 1
    # The goal really is held between its messages and changes within the episode, so the
    # windows compared above cover changes (a loaded machine publishes it sparsely: 4 values
    # in 27 frames were seen; equal windows over a constant goal would prove nothing).
    assert len(np.unique(ep.observations['observation.environment_state'][:, 0])) >= 3
