"""Recording by hand over DDS: teleop_node (synthetic keys, SDL dummy driver), sim_node in hand
mode (no episode ends, real time) and recorder_node on sim time, then ``convert_bags``.

Checks what the operator needs: an episode started from the keyboard resets the sim once and
records one goal; teleop restarts from the fresh state, so no state-action jump and no speed over
the contract's limit; joint_velocity mode moves at the commanded rate; a joint stopped by the
pillar gets no more than ``max_lead`` of lead.
"""
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')
pygame = pytest.importorskip('pygame')
pytest.importorskip('mujoco')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402

from dil_ros.data.convert import convert_bags  # noqa: E402
from dil_ros.sim.task import ReachAroundTask  # noqa: E402

STORE = get_typestore(Stores.ROS2_KILTED)
SEED = 11                 # the sim's first episode; the start key resets to SEED + 1


class Probe(Node):
    """What the arm did (wall time, positions) and what teleop sent (wall time, targets)."""

    def __init__(self):
        super().__init__('hand_probe')
        self.states, self.commands = [], []  # (receipt, sim stamp, positions), (receipt, targets)
        self.create_subscription(JointState, '/joint_states', lambda m: self.states.append(
            (time.monotonic(), m.header.stamp.sec + m.header.stamp.nanosec * 1e-9,
             list(m.position))), 1000)
        self.create_subscription(Float64MultiArray, '/arm_controller/commands',
                                 lambda m: self.commands.append((time.monotonic(), list(m.data))),
                                 1000)


@pytest.fixture
def rig(ros_context, tmp_path, monkeypatch):
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    from dil_ros.nodes.recorder_node import RecorderNode
    from dil_ros.nodes.sim_node import SimNode
    from dil_ros.nodes.teleop_node import TeleopNode
    nodes, executors, threads = [], [], []

    def spin(*group):  # one executor per node: the sim's stepping never waits for the others
        executor = SingleThreadedExecutor()
        for node in group:
            executor.add_node(node)
        executors.append(executor)
        threads.append(threading.Thread(target=executor.spin, daemon=True))
        threads[-1].start()

    def start(record=False, **teleop):
        nodes.append(SimNode(real_time_factor=1.0, auto_reset=False, time_limit=0.0, seed=SEED))
        if record:
            nodes.append(RecorderNode(parameter_overrides=[
                Parameter('output_dir', value=str(tmp_path / 'session')),
                Parameter('flush_period_s', value=0.2), Parameter('use_sim_time', value=True)]))
        params = {'device': 'keyboard', 'view_rate_hz': 0.0, 'scale': 0.5, **teleop}
        nodes.append(TeleopNode(parameter_overrides=[Parameter(k, value=v)
                                                     for k, v in params.items()]))
        nodes.append(Probe())
        for node in nodes:
            spin(node)
        teleop_node = nodes[-2]
        wait(lambda: teleop_node.measured is not None and nodes[-1].states, 'joint states')
        if record:
            wait(lambda: teleop_node.overlay.recorder is not None
                 and all(c.service_is_ready() for c in teleop_node.recorder.values())
                 and teleop_node.sim_reset.service_is_ready(), 'recorder and sim services')
        return teleop_node, nodes[-1]

    yield start
    for executor, thread in zip(executors, threads):
        executor.shutdown()
        thread.join(5)
    for node in reversed(nodes):
        node.destroy_node()


def wait(cond, what, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f'timed out waiting for {what}')


def key(name, down=True):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP,
                                         key=pygame.key.key_code(name)))


def test_joint_velocity_rate_and_blocked_joint_lead(rig, contract):
    teleop, probe = rig(mode='joint_velocity')
    key('space')
    key('q')                  # shoulder_pan + at 0.5 * 2 rad/s, towards the pillar
    t0 = time.monotonic()
    time.sleep(2.0)
    key('q', False)
    key('space', False)
    time.sleep(0.2)
    assert all(len(c) == 3 for _, c in probe.commands)  # positions, never raw velocities
    moving = [(stamp, q[0]) for t, stamp, q in probe.states if t0 + 0.2 < t < t0 + 0.6]
    rate = (moving[-1][1] - moving[0][1]) / (moving[-1][0] - moving[0][0])
    assert rate == pytest.approx(1.0, rel=0.2)          # the commanded rate, not (0, 0, 0)
    late = [(t, q) for t, _, q in probe.states if t0 + 1.5 < t < t0 + 2.0]
    assert np.ptp([q[0] for _, q in late]) < 0.01        # stopped by the pillar
    blocked = late[-1][1][0]
    leads = [c[0] - blocked for t, c in probe.commands if t0 + 1.5 < t < t0 + 2.0]
    assert leads and max(leads) <= 0.15 + 1e-6           # no lead builds up against it


def test_episode_by_keyboard_records_one_clean_goal(rig, contract, tmp_path):
    teleop, probe = rig(record=True)
    key('space')
    key('q')                  # drive before the episode: the reset will move the arm away
    time.sleep(0.5)
    key('return')             # start: sim reset, fresh state, recorder start (dead-man held)
    wait(lambda: (teleop.overlay.recorder or {}).get('recording'), 'recording')
    key('q', False)
    key('space', False)       # a pause mid-episode: teleop holds, the action has no gap
    time.sleep(0.6)
    key('space')
    key('w')                  # lift over the pillar, then round
    time.sleep(0.8)
    key('w', False)
    key('q')
    time.sleep(1.0)
    key('q', False)
    key('space', False)
    time.sleep(0.3)
    key('k')                  # stop and keep
    wait(lambda: (teleop.overlay.recorder or {}).get('kept') == 1
         and not teleop.overlay.recorder['recording'], 'the episode kept')
    assert teleop.overlay.message.startswith('stop: ')

    report = convert_bags([tmp_path / 'session'], contract, tmp_path / 'dataset',
                          progress=False)
    assert not report.skipped, report.summary()
    result, = report.converted
    assert not result.warnings, result.warnings         # no state-action jumps, no gaps
    episode, = result.episodes
    goals = np.unique(np.asarray(episode.observations['observation.environment_state']), axis=0)
    fresh = ReachAroundTask().sample(SEED + 1)
    assert goals == pytest.approx(np.asarray([fresh.goal]))   # one goal: the fresh task's
    bag = next((tmp_path / 'session').glob('episode_*'))
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic == '/joint_states']
        msgs = [STORE.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages(conns)]
    q = np.array([m.position for m in msgs])
    speed = np.abs(np.array([m.velocity for m in msgs])).max(axis=0)
    assert np.all(speed <= [contract.limits[j].max_velocity for j in contract.action.joints])
    assert np.abs(np.diff(q, axis=0)).max() < 0.05       # no reset inside the episode
    assert q[0] == pytest.approx(fresh.q0, abs=0.02)  # fresh task
    assert np.ptp(q[:, 0]) > 0.5 and np.ptp(q[:, 1]) > 0.2  # it was driven
