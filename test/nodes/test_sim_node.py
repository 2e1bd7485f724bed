"""sim_node over DDS: /clock, /joint_states, forward commands, JTC trajectories, reset by seed."""
import json
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')
pytest.importorskip('mujoco')

from builtin_interfaces.msg import Duration  # noqa: E402
from geometry_msgs.msg import Point  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402

from dil_ros.nodes.sim_node import SimNode, to_time_msg  # noqa: E402
from dil_ros.sim.task import ReachAroundTask  # noqa: E402

LATCHED = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)
NAMES = ['shoulder_pan', 'shoulder_lift', 'elbow']


def stamp_s(stamp):
    return stamp.sec + stamp.nanosec * 1e-9


class Probe(Node):
    def __init__(self):
        super().__init__('sim_probe')
        self.js, self.clock, self.status, self.results, self.goals = [], [], [], [], []
        self.create_subscription(JointState, '/joint_states', self.js.append, 1000)
        self.create_subscription(Clock, '/clock', lambda m: self.clock.append(
            stamp_s(m.clock)), 1000)
        self.create_subscription(String, '/task/status', lambda m: self.status.append(
            json.loads(m.data)), 100)
        self.create_subscription(String, '/task/episode_result', lambda m: self.results.append(
            json.loads(m.data)), LATCHED)
        self.create_subscription(Point, '/task/goal', self.goals.append, LATCHED)
        self.cmd = self.create_publisher(Float64MultiArray, '/arm_controller/commands', 10)
        self.traj = self.create_publisher(JointTrajectory, '/arm_controller/joint_trajectory', 10)
        self.reset = self.create_client(Trigger, '/sim_node/reset')


@pytest.fixture
def rig(ros_context):
    nodes = {}

    def make(**params):
        params = {'real_time_factor': 0.0, 'auto_reset': False, 'time_limit': 60.0, **params}
        nodes['sim'] = SimNode(**params)
        nodes['probe'] = Probe()
        ex = SingleThreadedExecutor()
        ex.add_node(nodes['sim'])
        ex.add_node(nodes['probe'])
        nodes['ex'] = ex
        spin_until(ex, lambda: nodes['probe'].js and nodes['probe'].goals)
        return nodes['sim'], nodes['probe'], ex

    yield make
    if 'ex' in nodes:
        nodes['ex'].shutdown()
    for key in ('sim', 'probe'):
        if key in nodes:
            nodes[key].destroy_node()


def spin_until(ex, cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ex.spin_once(timeout_sec=0.01)
        if cond():
            return
    raise AssertionError('timed out waiting for condition')


def positions(js):
    return np.array([js.position[js.name.index(j)] for j in NAMES])


def test_clock_joint_states_and_goal(rig, contract):
    sim, probe, ex = rig(seed=4)
    spin_until(ex, lambda: len(probe.js) >= 50)
    assert np.all(np.diff(probe.clock) > 0)
    assert probe.clock[-1] > 0.4
    js = probe.js[-1]
    assert list(js.name) == list(contract.observations['observation.state'].joints)
    assert len(js.velocity) == 3
    stamps = [stamp_s(m.header.stamp) for m in probe.js]
    stamps = [s for s in stamps if s <= probe.clock[-1]]
    assert set(np.round(stamps, 6)) <= set(np.round(probe.clock, 6))  # stamped with sim time
    ep = ReachAroundTask(time_limit=60.0).sample(4)
    g = probe.goals[0]
    assert (g.x, g.y, g.z) == pytest.approx(ep.goal)
    assert np.allclose(positions(probe.js[0]), ep.q0, atol=0.01)


def test_forward_commands_move_the_joints(rig):
    sim, probe, ex = rig()
    target = [-1.4, 0.5, -1.4]
    probe.cmd.publish(Float64MultiArray(data=target))
    spin_until(ex, lambda: np.allclose(positions(probe.js[-1]), target, atol=0.01))
    probe.cmd.publish(Float64MultiArray(data=[1.0, 2.0]))  # wrong length: logged, ignored
    n = len(probe.js)
    spin_until(ex, lambda: len(probe.js) > n + 20)
    assert np.allclose(positions(probe.js[-1]), target, atol=0.01)


def test_trajectory_reaches_points_at_their_times(rig):
    sim, probe, ex = rig()
    q0 = positions(probe.js[-1])
    start = stamp_s(probe.js[-1].header.stamp) + 0.3
    p1, p2 = q0 + [-0.3, 0.1, 0.1], q0 + [-0.6, 0.2, 0.2]
    msg = JointTrajectory(joint_names=['elbow', 'shoulder_pan', 'shoulder_lift'])
    msg.header.stamp = to_time_msg(start)
    for t, p in ((1.0, p1), (2.0, p2)):
        msg.points.append(JointTrajectoryPoint(positions=[p[2], p[0], p[1]],
                                               time_from_start=Duration(sec=int(t))))
    probe.traj.publish(msg)
    spin_until(ex, lambda: stamp_s(probe.js[-1].header.stamp) > start + 2.6)
    by_time = {round(stamp_s(m.header.stamp), 2): positions(m) for m in probe.js}
    assert np.allclose(by_time[round(start, 2)], q0, atol=0.01)          # waits for its stamp
    assert np.allclose(by_time[round(start + 1.0, 2)], p1, atol=0.03)    # on time (servo lag)
    assert np.allclose(by_time[round(start + 2.5, 2)], p2, atol=0.01)


def test_bad_trajectories_are_rejected(rig):
    sim, probe, ex = rig()
    q0 = positions(probe.js[-1])
    bad = [
        JointTrajectory(joint_names=NAMES),  # no points
        JointTrajectory(joint_names=['a', 'b', 'c'], points=[JointTrajectoryPoint(
            positions=[0.0, 0.0, 0.0], time_from_start=Duration(sec=1))]),
        JointTrajectory(joint_names=NAMES, points=[
            JointTrajectoryPoint(positions=[-1.2, 0.3, -1.8], time_from_start=Duration(sec=1)),
            JointTrajectoryPoint(positions=[-1.4, 0.3, -1.8], time_from_start=Duration(sec=1))]),
    ]
    for msg in bad:
        probe.traj.publish(msg)
    n = len(probe.js)
    spin_until(ex, lambda: len(probe.js) > n + 100)
    assert np.allclose(positions(probe.js[-1]), q0, atol=0.01)
    assert sim.sim.trajectory is None


def call_reset(probe, ex):
    assert probe.reset.wait_for_service(timeout_sec=5.0)
    future = probe.reset.call_async(Trigger.Request())
    spin_until(ex, future.done)
    assert future.result().success
    return json.loads(future.result().message)


def test_reset_with_seed_is_deterministic(rig):
    sim, probe, ex = rig(seed=10)
    assert sim.get_parameter('seed').value == 11
    first = call_reset(probe, ex)
    assert first['seed'] == 11 and first['episode'] == 1
    probe.cmd.publish(Float64MultiArray(data=[-1.4, 0.5, -1.4]))
    spin_until(ex, lambda: len(probe.js) > 30)
    sim.set_parameters([Parameter('seed', value=11)])
    again = call_reset(probe, ex)
    assert again['seed'] == 11 and again['goal'] == first['goal'] and again['episode'] == 2
    after = []
    spin_until(ex, lambda: after.extend(m for m in probe.js[-5:] if stamp_s(m.header.stamp)
                                        > again['stamp'] and m not in after) or after)
    ep = ReachAroundTask().sample(11)
    assert np.allclose(positions(after[0]), ep.q0, atol=0.01)
    spin_until(ex, lambda: probe.status and probe.status[-1]['episode'] == 2)
    assert probe.status[-1]['seed'] == 11


def test_episode_result_and_auto_reset(rig):
    sim, probe, ex = rig(seed=0, time_limit=0.3, auto_reset=True, reset_delay=0.1,
                         max_episodes=2)
    spin_until(ex, lambda: len(probe.results) >= 2)
    assert [r['status'] for r in probe.results] == ['timeout', 'timeout']
    assert [r['seed'] for r in probe.results] == [0, 1]
    assert probe.results[0]['success'] is False
    n = len(probe.js)
    spin_until(ex, lambda: len(probe.js) > n + 50)
    assert len(probe.results) == 2 and sim.episode_index == 1  # max_episodes reached: holds


def test_success_settles_before_the_result(rig):
    """After the tip reaches the goal the episode runs settle_time more (status still 'running',
    commands still obeyed), so a recording shows the arm arriving; then the result says success."""
    from dil_ros.sim.task import ik, polar_to_xyz
    sim, probe, ex = rig(seed=3, settle_time=0.4)
    goal = sim.sim.episode.goal
    outer = [polar_to_xyz(-0.9, 0.78, 0.05), polar_to_xyz(0.9, 0.78, 0.05)]  # around the pillar
    for via in outer:
        q = list(ik(*via))
        probe.cmd.publish(Float64MultiArray(data=q))
        spin_until(ex, lambda: np.allclose(positions(probe.js[-1]), q, atol=0.02))
    probe.cmd.publish(Float64MultiArray(data=list(ik(*goal))))
    spin_until(ex, lambda: sim.sim.done)
    assert sim.sim.status == 'success'
    reached = sim.sim.clock
    assert probe.results == []
    spin_until(ex, lambda: probe.results)
    result = probe.results[0]
    assert result['status'] == 'success'
    assert result['stamp'] - reached == pytest.approx(0.4, abs=0.02)
    # (status stamps are rounded to 1 us: the one sent with the result may look a hair earlier)
    settling = [st for st in probe.status if reached < st['stamp'] < result['stamp'] - 1e-3]
    assert settling and all(st['state'] == 'running' for st in settling)


def test_no_time_limit_for_recording_by_hand(rig):
    """time_limit 0 (config/hand_recording.yaml): the operator ends episodes, never the clock."""
    sim, probe, ex = rig(time_limit=0.0, auto_reset=True, reset_delay=0.0)
    spin_until(ex, lambda: probe.clock[-1] > 8.0)  # past the default 6 s limit
    assert probe.results == []
    assert probe.status[-1]['state'] == 'running' and probe.status[-1]['episode'] == 0
