"""teleop_node: drive the robot from a gamepad or the keyboard, behind a dead-man switch.

Publishes on the contract's teleop topic (``contract.teleop``: Float64MultiArray in
``action.joints`` order,
JointTrajectory or JointState) - or a geometry_msgs/Twist on ``twist_topic`` in ``twist`` mode.
``mode``:
``joint_velocity``, ``joint_position`` (increments integrated from /joint_states, clamped to the
contract
limits) or ``twist``. Nothing is sent unless the dead-man (``deadman_button`` / ``deadman_key``) is
held; on
release one *hold* command goes out (zero velocity, or the last position target). Mapping logic:
dil_ros/teleop/mapping.py. Keyboard mode opens a small pygame window that must have the focus.
"""
import os
import sys

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Twist
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from dil_ros.contract import JOINT_STATE, resolve_contract
from dil_ros.nodes import spin_node
from dil_ros.teleop.mapping import from_pygame, MODES, TeleopConfig, TeleopMapper

os.environ.setdefault('PYGAME_HIDE_SUPPORT_PROMPT', '1')

PARAMS = {  # name: (default, description)
    'contract': ('', 'contract YAML (empty: config/contracts/mujoco_arm.yaml)'),
    'mode': ('joint_position', f'one of {", ".join(MODES)}'),
    'device': ('joystick', "'joystick' (pygame gamepad) or 'keyboard' (pygame window)"),
    'joystick_index': (0, 'which pygame joystick'),
    'rate_hz': (50.0, 'command rate'),
    'scale': (0.5, 'fraction of each joint max_velocity at full stick'),
    'deadzone': (0.1, 'stick dead zone'),
    'axes': ([0, 1, 3, 4, 2, 5], 'joystick axis per joint (twist: x, y, z, yaw)'),
    'axis_signs': ([1.0, -1.0, -1.0, 1.0, 1.0, 1.0], 'sign per mapped axis'),
    'key_bindings': (['q:a', 'w:s', 'e:d', 'r:f', 't:g', 'y:h'], "'plus:minus' keys per joint"),
    'deadman_button': (4, 'joystick button that must be held (4: left shoulder on most pads)'),
    'deadman_key': ('space', 'keyboard key that must be held'),
    'max_linear': (0.2, 'twist mode: m/s at full input'),
    'max_angular': (0.5, 'twist mode: rad/s at full input'),
    'twist_topic': ('/cmd_vel', 'twist mode: where Twist goes'),
}


def command_message(command, msg_type: str, joints, dt: float):
    """The teleop topic's message for a command (positions or velocities, in ``joints`` order)."""
    values = [float(v) for v in command.values]
    if command.kind == 'twist':
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.linear.z, msg.angular.z = values
        return msg
    key = 'positions' if command.kind == 'position' else 'velocities'
    if msg_type == 'std_msgs/msg/Float64MultiArray':
        return Float64MultiArray(data=values)
    if msg_type == 'trajectory_msgs/msg/JointTrajectory':
        # One point reached after one tick (never t = 0: that is a step, see STYLE.md).
        nsec = max(1, int(dt * 1e9))
        point = JointTrajectoryPoint(time_from_start=Duration(sec=nsec // 10**9,
                                                              nanosec=nsec % 10**9))
        setattr(point, key, values)
        return JointTrajectory(joint_names=list(joints), points=[point])
    if msg_type == JOINT_STATE:
        msg = JointState(name=list(joints))
        setattr(msg, 'position' if command.kind == 'position' else 'velocity', values)
        return msg
    raise ValueError(f'unsupported teleop type {msg_type}')


class TeleopNode(Node):

    def __init__(self, **kwargs):
        super().__init__('teleop_node', **kwargs)
        for name, (default, text) in PARAMS.items():
            self.declare_parameter(name, default,
                                   ParameterDescriptor(description=text, read_only=True))
        p = lambda name: self.get_parameter(name).value  # noqa: E731
        self.contract = resolve_contract(p('contract') or None)
        self.contract.require_topics('teleop_node')
        mode = p('mode')
        config = TeleopConfig.from_contract(
            self.contract, mode, scale=p('scale'), deadzone=p('deadzone'), axes=tuple(p('axes')),
            axis_sign=tuple(p('axis_signs')),
            keys=tuple(tuple(b.split(':', 1)) for b in p('key_bindings')),
            deadman_button=p('deadman_button'), deadman_key=p('deadman_key'),
            max_linear=p('max_linear'), max_angular=p('max_angular'))
        self.mapper = TeleopMapper(config)
        self.dt = 1.0 / p('rate_hz')
        self.measured = None
        if mode == 'twist':
            self.msg_type, topic = 'geometry_msgs/msg/Twist', p('twist_topic')
            cls = Twist
        else:
            self.msg_type, topic = self.contract.teleop.type, self.contract.teleop.topic
            cls = {'std_msgs/msg/Float64MultiArray': Float64MultiArray,
                   'trajectory_msgs/msg/JointTrajectory': JointTrajectory,
                   JOINT_STATE: JointState}[self.msg_type]
        self.pub = self.create_publisher(cls, topic, 10)
        states = [s.topic for s in self.contract.observations.values() if s.type == JOINT_STATE]
        self.create_subscription(JointState, states[0] if states else '/joint_states',
                                 self.on_joint_state, 10)
        self.device = p('device')
        self.joystick_index = p('joystick_index')
        self.joystick = None
        self.was_active = False
        self.open_device()
        self.create_timer(self.dt, self.on_tick)
        deadman = (f'button {config.deadman_button}' if self.device == 'joystick'
                   else f'key {config.deadman_key!r}')
        self.get_logger().info(f'{mode} from {self.device} -> {topic} ({self.msg_type}); '
                               f'hold {deadman} to move')

    def open_device(self):
        headless = not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
        if headless and self.device == 'joystick':
            os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')  # events need video; no window
        import pygame
        pygame.display.init()
        if self.device == 'keyboard':
            pygame.display.set_mode((360, 60))
            pygame.display.set_caption('dil_ros teleop: hold the dead-man key to move')
        else:
            pygame.joystick.init()
            self.connect_joystick()

    def connect_joystick(self):
        import pygame
        if self.joystick is None and pygame.joystick.get_count() > self.joystick_index:
            self.joystick = pygame.joystick.Joystick(self.joystick_index)
            self.get_logger().info(f'joystick: {self.joystick.get_name()}')

    def on_joint_state(self, msg):
        self.measured = dict(zip(msg.name, msg.position))

    def on_tick(self):
        import pygame
        for event in pygame.event.get():
            if event.type == pygame.JOYDEVICEADDED:
                self.connect_joystick()
            elif event.type == pygame.JOYDEVICEREMOVED:
                self.joystick = None
            translated = from_pygame(event)
            if translated is not None:
                self.mapper.handle([translated])
        command = self.mapper.update(self.dt, self.measured)
        if command is not None and (command.active or self.was_active):
            self.pub.publish(command_message(command, self.msg_type,
                                             self.contract.action.joints, self.dt))
        self.was_active = bool(command and command.active)

    def destroy_node(self):
        import pygame
        pygame.quit()
        return super().destroy_node()


def main(args=None):
    return spin_node(TeleopNode, args)

if __name__ == '__main__':
    sys.exit(main())
