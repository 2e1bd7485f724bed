"""recorder_node over DDS: start/stop/discard, bag contents, errors, SIGKILL mid-episode."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Point  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402
from std_srvs.srv import SetBool, Trigger  # noqa: E402

from dil_ros.recording.recover import bag_custom_data, recover_session  # noqa: E402

STORE = get_typestore(Stores.ROS2_KILTED)
NS = '/recorder_node'


class Operator(Node):
    """Publishes robot-like traffic and calls the recorder's services."""

    def __init__(self, ns=NS):
        super().__init__('operator')
        self.pubs = {
            '/joint_states': self.create_publisher(JointState, '/joint_states', 100),
            '/task/goal': self.create_publisher(Point, '/task/goal', 100),
            '/arm_controller/commands': self.create_publisher(
                Float64MultiArray, '/arm_controller/commands', 100),
            '/camera/image': self.create_publisher(Image, '/camera/image', 100),
            '/note': self.create_publisher(String, '/note', 100),
        }
        self.clients_ = {n: self.create_client(Trigger, f'{ns}/{n}')
                         for n in ('start', 'stop', 'discard')}
        self.clients_['set_success'] = self.create_client(SetBool, f'{ns}/set_success')
        self.status = []
        self.create_subscription(String, f'{ns}/status', lambda m: self.status.append(
            json.loads(m.data)), QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.seq = 0

    def call(self, name, data=None, timeout=10.0):
        client = self.clients_[name]
        assert client.wait_for_service(timeout_sec=timeout), f'{name} service not available'
        req = client.srv_type.Request()
        if data is not None:
            req.data = data
        done = threading.Event()
        future = client.call_async(req)
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout), f'{name}: no reply'
        return future.result()

    def wait_subscribers(self, timeout=10.0):
        """Until the recorder subscribes to every topic."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(p.get_subscription_count() > 0 for p in self.pubs.values()):
                return
            time.sleep(0.05)
        raise AssertionError('recorder did not subscribe to every topic')

    def burst(self, n, period=0.002):
        """Publish n of each message; values carry a running sequence number."""
        for _ in range(n):
            s = float(self.seq)
            self.pubs['/joint_states'].publish(JointState(name=['shoulder_pan'], position=[s]))
            self.pubs['/task/goal'].publish(Point(x=s))
            self.pubs['/arm_controller/commands'].publish(Float64MultiArray(data=[s, s, s]))
            self.pubs['/camera/image'].publish(Image(height=2, width=2, encoding='mono8', step=2,
                                                     data=bytes([self.seq % 256] * 4)))
            self.pubs['/note'].publish(String(data=f'n{self.seq}'))
            self.seq += 1
            time.sleep(period)


def read_bag(path):
    out = {}
    with Reader(Path(path)) as reader:
        for conn, _, raw in reader.messages():
            out.setdefault(conn.topic, []).append(STORE.deserialize_cdr(raw, conn.msgtype))
    return out


def wait_counts(op, n, timeout=10.0):
    """Until the recorder's status shows n stored messages on every topic."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        counts = op.status[-1]['counts'] if op.status else {}
        if len(counts) == 5 and all(v >= n for v in counts.values()):
            return counts
        time.sleep(0.05)
    raise AssertionError(f'recorder stored {op.status[-1] if op.status else None}')


@pytest.fixture
def running(ros_context, tmp_path):
    from dil_ros.nodes.recorder_node import RecorderNode
    nodes = []

    def start(**params):
        params = {'output_dir': str(tmp_path / 'session'), 'flush_period_s': 0.1,
                  'status_period_s': 0.1, 'task': 'stack cubes', 'operator': 'ann',
                  'extra_topics': ['/camera/image:sensor_msgs/msg/Image', '/note'], **params}
        op = Operator()
        op.pubs['/note']  # the auto-detected topic must exist in the graph first
        rec = RecorderNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
        executor = MultiThreadedExecutor(num_threads=3)
        executor.add_node(rec)
        executor.add_node(op)
        thread = threading.Thread(target=executor.spin, daemon=True)
        thread.start()
        nodes.append((executor, thread, rec, op))
        return rec, op
    yield start
    for executor, thread, rec, op in nodes:
        executor.shutdown()
        thread.join(5)
        rec.close()
        rec.destroy_node()
        op.destroy_node()


def test_start_stop_discard_over_dds(running, tmp_path):
    rec, op = running()
    op.wait_subscribers()
    for name, text in (('stop', 'nothing to stop'), ('discard', 'nothing to discard')):
        reply = op.call(name)
        assert not reply.success and text in reply.message

    assert op.call('start').success
    reply = op.call('start')
    assert not reply.success and 'already recording episode_0000' in reply.message
    op.burst(30)
    wait_counts(op, 30)
    reply = op.call('stop')
    assert reply.success and 'kept episode_0000' in reply.message

    assert op.call('start').success
    op.burst(10)
    assert op.call('discard').message == 'discarded episode_0001'

    rec.set_parameters([Parameter('task', value='second task')])
    assert op.call('start').success
    op.burst(20)
    wait_counts(op, 20)
    assert op.call('set_success', False).success  # the operator's mark beats success:=true
    assert op.call('stop').success

    session = tmp_path / 'session'
    assert sorted(os.listdir(session)) == ['episode_0000', 'episode_0001', 'episodes.json']
    index = json.loads((session / 'episodes.json').read_text())
    assert index['contract'] == 'mujoco_arm'
    first, second = index['episodes']
    assert first['counts'] == {t: 30 for t in op.pubs}
    assert first['metadata']['task'] == 'stack cubes' and first['success'] is True
    assert second['metadata']['task'] == 'second task' and second['success'] is False
    assert bag_custom_data(session / 'episode_0000')['operator'] == 'ann'
    assert bag_custom_data(session / 'episode_0001')['success'] == 'false'

    bag = read_bag(session / 'episode_0000')  # every stored message decodes with rosbags
    assert {t: len(v) for t, v in bag.items()} == {t: 30 for t in op.pubs}
    seq = [m.position[0] for m in bag['/joint_states']]
    assert seq == list(range(int(seq[0]), int(seq[0]) + 30))
    assert [m.x for m in bag['/task/goal']] == seq
    assert [list(m.data) for m in bag['/arm_controller/commands']] == [[s] * 3 for s in seq]
    assert [m.data.tolist() for m in bag['/camera/image']] == [[int(s) % 256] * 4 for s in seq]
    assert [m.data for m in bag['/note']] == [f'n{int(s)}' for s in seq]
    st = op.status[-1]
    assert st['recording'] is False and st['kept'] == 2 and st['last_error'] == ''


def test_unwritable_output_reports_error(running, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    rec, op = running(output_dir=str(blocker / 'session'))
    reply = op.call('start')
    assert not reply.success and 'cannot create session folder' in reply.message
    deadline = time.time() + 5
    while time.time() < deadline and not (op.status and op.status[-1]['last_error']):
        time.sleep(0.05)
    assert op.status[-1]['last_error'] == reply.message and not op.status[-1]['recording']


def test_disk_full_names_recover_over_dds(running, tmp_path, monkeypatch):
    import errno
    from dil_ros.recording import episode as episode_mod
    rec, op = running()
    op.wait_subscribers()

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(episode_mod.Writer, 'write', full)
    assert op.call('start').success
    op.burst(5)
    deadline = time.time() + 10
    while time.time() < deadline and not (op.status and op.status[-1]['last_error']):
        time.sleep(0.05)
    session = tmp_path / 'session'
    error = op.status[-1]['last_error']
    assert 'disk full (ENOSPC)' in error and f'run `dil-ros recover {session}`' in error
    assert not op.status[-1]['recording']
    reply = op.call('stop')
    assert not reply.success and reply.message == f'not recording: {error}'


@pytest.mark.parametrize('entry, problem', [
    ('/x:os/path/join', "message type 'os/path/join' is not 'pkg/msg/Type'"),  # never imported
    ('/x:nope_msgs/msg/Nope', 'message type nope_msgs/msg/Nope is not installed'),
])
def test_bad_extra_topic_is_named(ros_context, tmp_path, entry, problem):
    from dil_ros.nodes.recorder_node import RecorderNode
    from dil_ros.recording.topics import ExtraTopicError
    with pytest.raises(ExtraTopicError) as info:
        RecorderNode(parameter_overrides=[
            Parameter('output_dir', value=str(tmp_path / 'session')),
            Parameter('extra_topics', value=['/note:std_msgs/msg/String', entry])])
    assert str(info.value) == f'extra_topics[1] {entry!r}: {problem}'
    assert not (tmp_path / 'session').exists()


def test_sigkill_mid_episode(ros_context, tmp_path):
    session = tmp_path / 'session'
    log = open(tmp_path / 'recorder.log', 'wb')  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, '-m', 'dil_ros.nodes.recorder_node', '--ros-args',
         '-p', f'output_dir:={session}', '-p', 'flush_period_s:=0.1', '-p', 'status_period_s:=0.1',
         '-p', "extra_topics:=['/camera/image:sensor_msgs/msg/Image', "
                     "'/note:std_msgs/msg/String']"],
        stdout=log, stderr=subprocess.STDOUT)   # a file: an unread pipe can fill and stall it
    op = Operator()
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(op)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        op.wait_subscribers(20)
        for n in (15, 25):
            assert op.call('start', timeout=20).success
            op.burst(n)
            wait_counts(op, n)
            assert op.call('stop').success
        index_before = (session / 'episodes.json').read_bytes()
        assert op.call('start').success
        op.burst(40)
        wait_counts(op, 40)
        time.sleep(0.4)  # a few flush periods: the chunks are on disk
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        executor.shutdown(timeout_sec=5)
        thread.join(5)
        op.destroy_node()

    assert (session / 'episodes.json').read_bytes() == index_before
    assert sorted(os.listdir(session)) == ['.episode_0002.partial', 'episode_0000',
                                           'episode_0001', 'episodes.json']
    for name, n in (('episode_0000', 15), ('episode_0001', 25)):
        assert {t: len(v) for t, v in read_bag(session / name).items()} == {t: n for t in op.pubs}
    log = recover_session(session)
    assert log == ['episode_0002: recovered 200 messages (%.1f s)' % (
        json.loads((session / 'episodes.json').read_text())['episodes'][2]['duration_s'])]
    bag = read_bag(session / 'episode_0002')
    assert {t: len(v) for t, v in bag.items()} == {t: 40 for t in op.pubs}


class LatchedGoal(Node):
    """Publishes one goal with transient-local durability (latched) and calls ~/start, ~/stop."""

    def __init__(self):
        super().__init__('latched_goal')
        self.clients_ = {n: self.create_client(Trigger, f'{NS}/{n}') for n in ('start', 'stop')}
        self.pub = None

    def publish_once(self):
        self.pub = self.create_publisher(Point, '/task/goal', QoSProfile(
            depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.pub.publish(Point(x=0.25, y=-0.5, z=0.75))

    call = Operator.call


@pytest.mark.parametrize('publisher_first', [True, False])
def test_a_goal_published_once_before_the_episode_is_recorded(ros_context, tmp_path,
                                                              publisher_first):
    """The recorder subscribes transient local where the publishers are (found at start-up, or
    once they appear), keeps the newest latched goal and starts every episode with it."""
    from dil_ros.nodes.recorder_node import RecorderNode
    goal = LatchedGoal()
    if publisher_first:
        goal.publish_once()
    rec = RecorderNode(parameter_overrides=[
        Parameter('output_dir', value=str(tmp_path / 'session')),
        Parameter('status_period_s', value=0.1), Parameter('flush_period_s', value=0.1)])
    executor = MultiThreadedExecutor(num_threads=3)
    for node in (rec, goal):
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        if not publisher_first:
            time.sleep(0.3)
            goal.publish_once()
        deadline = time.time() + 10
        while time.time() < deadline and not rec.recorder.status().get('latched'):
            time.sleep(0.05)
        time.sleep(0.2)
        for _ in range(2):
            assert goal.call('start').success
            time.sleep(0.2)
            assert goal.call('stop').success
    finally:
        executor.shutdown()
        thread.join(5)
        rec.destroy_node()
        goal.destroy_node()
    for name in ('episode_0000', 'episode_0001'):
        bag = read_bag(tmp_path / 'session' / name)
        assert [(m.x, m.y, m.z) for m in bag['/task/goal']] == [(0.25, -0.5, 0.75)]


def test_sim_stamped_joint_states_recorded_on_wall_time_do_not_convert(running, tmp_path,
                                                                       contract):
    """record.launch.py with use_sim_time:=false next to a sim: /joint_states carry sim-time
    header stamps, the goal and the commands the recorder's wall-clock receive times."""
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    from dil_ros.data.bag_reader import BagError
    from dil_ros.data.convert import bag_to_episode
    rec, op = running()
    op.wait_subscribers()
    assert op.call('start').success
    for k in range(30):
        stamp = Time(sec=5 + k // 20, nanosec=(k % 20) * 50_000_000)  # 5 s after sim start
        op.pubs['/joint_states'].publish(JointState(
            header=Header(stamp=stamp), name=['shoulder_pan', 'shoulder_lift', 'elbow'],
            position=[0.1 * k] * 3))
        op.pubs['/task/goal'].publish(Point(x=0.3))
        op.pubs['/arm_controller/commands'].publish(Float64MultiArray(data=[0.1 * k] * 3))
        time.sleep(0.05)
    assert op.call('stop').success
    with pytest.raises(BagError) as err:
        bag_to_episode(tmp_path / 'session' / 'episode_0000', contract)
    text = str(err.value)
    assert 'stamps from two clocks: /joint_states (header stamps, 5.000 s to 6.450 s) on sim ' \
           'time; /task/goal (receive times' in text
    assert text.endswith('the recorder ran on wall time: record with use_sim_time:=true (launch '
                         'argument or recorder_node parameter), or run the publishers of '
                         '/joint_states with use_sim_time:=false')


class Cameras(Node):
    """Camera drivers: an rgb8 Image and a jpeg CompressedImage with sensor-data QoS."""

    def __init__(self, reliable=False):
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage
        super().__init__('cameras')
        qos = QoSProfile(depth=100) if reliable else qos_profile_sensor_data
        self.front = self.create_publisher(Image, '/camera/front/image_raw', qos)
        self.wrist = self.create_publisher(CompressedImage, '/camera/wrist/compressed', qos)
        self.jpeg = CompressedImage(format='jpeg', data=_jpeg_bytes())

    def publish(self, n):
        for k in range(n):
            self.front.publish(Image(height=2, width=3, encoding='rgb8', step=9,
                                     data=bytes([k % 256] * 18)))
            self.wrist.publish(self.jpeg)
            time.sleep(0.01)


def _jpeg_bytes():
    import io
    from PIL import Image as PilImage
    buf = io.BytesIO()
    PilImage.new('RGB', (4, 2), (200, 10, 10)).save(buf, format='JPEG')
    return buf.getvalue()


CAMERA_TOPICS = ('/camera/front/image_raw', '/camera/wrist/compressed')


@contextlib.contextmanager
def camera_recorder(tmp_path, contract):
    """A recorder of the demo contract plus the two Cameras' topics, and an Operator, spinning;
    yields (recorder, operator, nodes): nodes put in the list are destroyed with them."""
    import yaml
    from dil_ros.nodes.recorder_node import RecorderNode
    mapping = contract.to_mapping()
    mapping['observations']['observation.images.front'] = {
        'topic': CAMERA_TOPICS[0], 'type': 'sensor_msgs/msg/Image', 'height': 2, 'width': 3}
    mapping['observations']['observation.images.wrist'] = {
        'topic': CAMERA_TOPICS[1], 'type': 'sensor_msgs/msg/CompressedImage', 'height': 2,
        'width': 4}
    (tmp_path / 'c.yaml').write_text(yaml.safe_dump(mapping))
    rec = RecorderNode(parameter_overrides=[
        Parameter('contract', value=str(tmp_path / 'c.yaml')),
        Parameter('output_dir', value=str(tmp_path / 'session')),
        Parameter('status_period_s', value=0.1), Parameter('flush_period_s', value=0.1)])
    op = Operator()
    executor = MultiThreadedExecutor(num_threads=3)
    for node in (rec, op):
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    others = []
    try:
        yield rec, op, others
    finally:
        executor.shutdown()
        thread.join(5)
        for node in (rec, op, *others):
            node.destroy_node()


def wait_until(condition, timeout, step=None):
    """Until ``condition()`` holds or ``timeout`` s pass; ``step()`` (or a 50 ms sleep) between."""
    deadline = time.time() + timeout
    while time.time() < deadline and not condition():
        (step or (lambda: time.sleep(0.05)))()


def stored(rec, topics):
    return min(rec.recorder.status()['counts'].get(t, 0) for t in topics)


def test_cameras_appearing_mid_episode_join_it_and_nothing_stalls(ros_context, tmp_path,
                                                                  contract):
    """Reliable cameras that start after an episode has begun: the start reply names them, the
    recorder subscribes once they appear (never destroying a subscription on the running
    executor, which was seen to stall every subscription), and the episode holds every state
    message published before and after, and every frame published once subscribed."""
    state = ('/joint_states', '/task/goal', '/arm_controller/commands')
    with camera_recorder(tmp_path, contract) as (rec, op, others):
        wait_until(lambda: all(op.pubs[t].get_subscription_count() for t in state), 10)
        reply = op.call('start')
        assert reply.success and reply.message.endswith(
            f'no publishers yet on {CAMERA_TOPICS[0]}, {CAMERA_TOPICS[1]}')
        op.burst(20)
        cams = Cameras(reliable=True)
        others.append(cams)
        wait_until(lambda: cams.front.get_subscription_count() and
                   cams.wrist.get_subscription_count(), 10, lambda: op.burst(1, period=0.02))
        assert set(CAMERA_TOPICS) <= set(rec.subs) and not rec.unmatched
        time.sleep(0.3)
        cams.publish(20)
        op.burst(20)
        n = op.seq
        wait_until(lambda: stored(rec, state) >= n and stored(rec, CAMERA_TOPICS) >= 20, 20)
        assert op.call('stop').success
    bag = read_bag(tmp_path / 'session' / 'episode_0000')
    assert [m.position[0] for m in bag['/joint_states']] == [float(k) for k in range(n)]
    assert len(bag['/task/goal']) == len(bag['/arm_controller/commands']) == n
    assert [m.data[0] for m in bag[CAMERA_TOPICS[0]]] == list(range(20))
    assert len(bag[CAMERA_TOPICS[1]]) == 20


@pytest.mark.parametrize('cameras_first', [True, False])
@pytest.mark.parametrize('reliable', [False, True])
def test_contract_cameras_recorded_with_their_publishers_qos(ros_context, tmp_path, contract,
                                                             cameras_first, reliable):
    """The contract's cameras are recorded like any observation, also when the publishers
    (sensor-data QoS, or reliable) appear after the recorder, whose subscription then takes
    their reliability (a reliable one would never match best-effort publishers; a best-effort
    one loses large frames a reliable publisher would resend)."""
    from rclpy.qos import ReliabilityPolicy
    first = [Cameras(reliable)] if cameras_first else []
    with camera_recorder(tmp_path, contract) as (rec, op, others):
        cams = first[0] if first else Cameras(reliable)
        others.append(cams)
        want = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        wait_until(lambda: all(t in rec.subs and rec.subs[t].qos_profile.reliability == want
                               for t in CAMERA_TOPICS), 10)
        assert [rec.subs[t].qos_profile.reliability if t in rec.subs else None
                for t in CAMERA_TOPICS] == [want, want]
        wait_until(lambda: cams.front.get_subscription_count() and
                   cams.wrist.get_subscription_count(), 10)
        assert op.call('start').success
        time.sleep(0.3)
        cams.publish(20)
        wait_until(lambda: stored(rec, CAMERA_TOPICS) >= 20, 10)
        assert op.call('stop').success
    bag = read_bag(tmp_path / 'session' / 'episode_0000')
    assert [m.data[0] for m in bag['/camera/front/image_raw']] == list(range(20))
    assert len(bag['/camera/wrist/compressed']) == 20
    assert bytes(bag['/camera/wrist/compressed'][0].data) == _jpeg_bytes()
