"""teleop_node over DDS with synthetic pygame keyboard events (SDL dummy video driver)."""
import os
import threading
import time

import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')
pygame = pytest.importorskip('pygame')

from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402

from dil_ros.nodes.teleop_messages import command_message  # noqa: E402
from dil_ros.teleop import Command  # noqa: E402


@pytest.fixture
def teleop(ros_context, monkeypatch):
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    from dil_ros.nodes.teleop_node import TeleopNode
    node = TeleopNode(parameter_overrides=[
        Parameter('device', value='keyboard'), Parameter('mode', value='joint_position'),
        Parameter('rate_hz', value=50.0), Parameter('scale', value=1.0),
        Parameter('view_rate_hz', value=0.0)])
    robot = Node('fake_robot')
    got = []
    robot.create_subscription(Float64MultiArray, '/arm_controller/commands',
                              lambda m: got.append(list(m.data)), 100)
    states = robot.create_publisher(JointState, '/joint_states', 10)
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    executor.add_node(robot)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node, states, got
    executor.shutdown()
    thread.join(5)
    node.destroy_node()
    robot.destroy_node()


def post_key(name, down=True):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP,
                                         key=pygame.key.key_code(name)))


def test_keyboard_position_teleop(teleop):
    node, states, got = teleop
    deadline = time.time() + 5
    while node.measured is None and time.time() < deadline:
        states.publish(JointState(name=['shoulder_pan', 'shoulder_lift', 'elbow'],
                                  position=[2.3, 0.0, -1.0]))
        time.sleep(0.05)
    assert node.measured is not None
    post_key('q')  # without the dead-man: nothing is sent
    time.sleep(0.3)
    assert got == []
    post_key('space')
    time.sleep(0.6)  # 2 rad/s for 0.6 s: 1.2 rad, but the arm does not follow (blocked)
    post_key('space', False)
    time.sleep(0.3)
    n = len(got)
    time.sleep(0.2)
    assert len(got) == n  # released: after the one hold command, silence
    assert n >= 5
    pans = [c[0] for c in got]
    # integrated from /joint_states (2.3) over the time since the press: one 20 ms tick at
    # 2 rad/s is 0.04; a tick late under load integrates at most two ticks' time
    assert 2.3 < pans[0] <= 2.3 + 2.0 * 2 * 0.02 + 1e-9
    assert pans == sorted(pans) and max(pans) == pytest.approx(2.3 + 0.15)  # max_lead
    # max_velocity over at most two ticks' time (a late tick catches up, never jumps further)
    assert max(b - a for a, b in zip(pans, pans[1:])) <= 2.0 * 2 * 0.02 + 1e-9
    assert got[-1] == got[-2] and got[-1][1:] == [0.0, -1.0]
    assert os.environ['SDL_VIDEODRIVER'] == 'dummy'


def test_command_messages():
    from trajectory_msgs.msg import JointTrajectory
    joints = ('a', 'b')
    traj = command_message(Command('position', (1.0, 2.0), True),
                           'trajectory_msgs/msg/JointTrajectory', joints, 0.02)
    assert isinstance(traj, JointTrajectory) and traj.joint_names == ['a', 'b']
    assert list(traj.points[0].positions) == [1.0, 2.0]
    assert traj.points[0].time_from_start.nanosec == 20_000_000  # never a t = 0 step
    js = command_message(Command('velocity', (0.5, 0.0), True), 'sensor_msgs/msg/JointState',
                         joints, 0.02)
    assert list(js.velocity) == [0.5, 0.0] and list(js.position) == []
    tw = command_message(Command('twist', (0.1, 0.0, 0.0, -0.5), True), 'geometry_msgs/msg/Twist',
                         joints, 0.02)
    assert tw.linear.x == 0.1 and tw.angular.z == -0.5


def test_episode_button_reaches_the_node(teleop):
    """A joystick's start button (7) asks for a reset; with no sim running, the window says so."""
    node, _, _ = teleop
    pygame.event.post(pygame.event.Event(pygame.JOYBUTTONDOWN, button=7, joy=0, instance_id=0))
    deadline = time.time() + 3
    while not node.overlay.message and time.time() < deadline:
        time.sleep(0.05)
    assert node.overlay.message == 'start: /sim_node/reset is not available'


def test_bad_parameters_are_named(ros_context, monkeypatch):
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    from dil_ros.errors import DilRosError
    from dil_ros.nodes.teleop_node import TeleopNode
    for name, value, problem in (('episode_keys', ['start:q'], "key 'q' is already bound"),
                                 ('max_lead', 0.0, 'max_lead: must be > 0'),
                                 ('mode', 'fly', 'mode: must be one of')):
        with pytest.raises(DilRosError, match=problem):
            TeleopNode(parameter_overrides=[Parameter(name, value=value)]).destroy_node()


def test_stop_reply_lets_start_through_before_the_status_does(teleop):
    """~/stop's reply can overtake the recorder's ~/status: start must not be refused then."""
    from std_srvs.srv import Trigger
    node, _, _ = teleop
    node.overlay.recorder = {'recording': True, 'kept': 0}  # the last status: still recording
    node.on_reply('stop', Trigger.Response(success=True, message='kept episode_0000'))
    assert node.overlay.recorder['recording'] is False
    node.on_action('start')
    assert node.overlay.message == 'start: /sim_node/reset is not available'  # not refused


def test_start_waits_for_the_fresh_state_after_a_reset(ros_context, monkeypatch):
    """Dead-man and a joint key held through a start: nothing is sent while the sim resets, and
    the first command after it starts from the fresh state, not from where the arm was."""
    import json
    from std_srvs.srv import Trigger
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    from dil_ros.nodes.teleop_node import TeleopNode
    node = TeleopNode(parameter_overrides=[
        Parameter('device', value='keyboard'), Parameter('view_rate_hz', value=0.0)])
    robot = Node('fake_sim')
    got, names = [], ['shoulder_pan', 'shoulder_lift', 'elbow']
    robot.create_subscription(Float64MultiArray, '/arm_controller/commands',
                              lambda m: got.append((time.monotonic(), list(m.data))), 100)
    states = robot.create_publisher(JointState, '/joint_states', 10)
    resets = []

    def reset(request, response):
        resets.append(time.monotonic())
        time.sleep(0.3)  # a slow reply: stale states keep arriving meanwhile
        response.success, response.message = True, json.dumps({'stamp': 5.0})
        return response

    robot.create_service(Trigger, '/sim_node/reset', reset)
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(node)
    executor.add_node(robot)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()

    def publish(sec, q):
        msg = JointState(name=names, position=q)
        msg.header.stamp.sec = sec
        states.publish(msg)

    try:
        deadline = time.time() + 5
        while (node.measured is None or not node.sim_reset.service_is_ready()) and \
                time.time() < deadline:
            publish(1, [1.0, 0.0, -1.0])
            time.sleep(0.02)
        post_key('space')
        post_key('q')
        time.sleep(0.2)
        post_key('return')
        end = time.time() + 0.8
        while time.time() < end:       # the old pose, stamped before the reset
            publish(1, [1.0, 0.0, -1.0])
            time.sleep(0.01)
        fresh_end = end + 3.0           # the fresh episode, until teleop has commanded from it
        while time.time() < fresh_end and not (
                resets and sum(t > resets[0] for t, _ in got) >= 5):
            publish(5, [-1.0, 0.3, -1.8])
            time.sleep(0.01)
    finally:
        executor.shutdown()
        thread.join(5)
        node.destroy_node()
        robot.destroy_node()
    assert resets
    after = [q for t, q in got if t > resets[0]]
    # from the fresh state on, within max_lead of it (the fake arm does not follow)
    assert after and all(-1.0 <= q[0] <= -1.0 + 0.15 + 1e-9 for q in after), after[:3]
    assert node.overlay.message == 'start: /recorder_node/start is not available ' \
        '(is recorder_node running?)'
