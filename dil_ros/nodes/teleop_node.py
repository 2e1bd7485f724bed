"""teleop_node: drive the robot from a gamepad or the keyboard, and run the recording from there.

Commands go to the contract's teleop topic (``contract.teleop``: Float64MultiArray in
``action.joints`` order, JointTrajectory or JointState) - or a geometry_msgs/Twist on
``twist_topic`` in ``twist`` mode. Nothing is sent unless the dead-man (``deadman_button`` /
``deadman_key``) is held; on release one *hold* command goes out (every tick while the recorder
records, so the recorded action has no gaps). Position targets start from the
measured joints at every press and after every reset, move at most at the contract's
``max_velocity`` and never lead the arm by more than ``max_lead`` (dil_ros/teleop/safety.py).

Episode keys (``episode_keys``): *start* calls the sim's reset (``sim_reset``; '' for a robot
without one), waits for the first joint state of the fresh episode, restarts the target there and
calls the recorder's ``~/start``; *stop*, *discard*, *success* and *failure* call the recorder's
``~/stop``, ``~/discard`` and ``~/set_success``. The window (pygame) shows a live MuJoCo view
(``view_rate_hz``; dil_ros/teleop/view.py), the dead-man and recording state, the episode count
and the key map; the keyboard device reads its keys from it, so it must have the focus.
"""
import json
import os
import sys
import time

from geometry_msgs.msg import Point
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from dil_ros.contract import ContractError, JOINT_STATE, resolve_contract
from dil_ros.nodes import spin_node
from dil_ros.nodes.messages import msg_class, stamp_ns
from dil_ros.nodes.task_topics import GOAL_TOPIC, LATCHED_QOS, STATUS_TOPIC
from dil_ros.nodes.teleop_messages import command_message, TELEOP_TYPES
from dil_ros.teleop import from_pygame, MODES, TeleopConfig, TeleopMapper
from dil_ros.teleop.episodes import (DEFAULT_BUTTONS, DEFAULT_KEYS, parse_bindings,
                                     pressed_actions)
from dil_ros.teleop.mapping import INTERFACES
from dil_ros.teleop.overlay import overlay_lines, OverlayState

os.environ.setdefault('PYGAME_HIDE_SUPPORT_PROMPT', '1')

PARAMS = {  # name: (default, description)
    'contract': ('', 'contract YAML (empty: config/contracts/mujoco_arm.yaml)'),
    'mode': ('joint_position', f'one of {", ".join(MODES)}'),
    'command_interface': ('position', f'what the teleop topic\'s controller takes: '
                                      f'{" or ".join(INTERFACES)} (joint_velocity mode)'),
    'device': ('joystick', "'joystick' (pygame gamepad) or 'keyboard' (pygame window)"),
    'joystick_index': (0, 'which pygame joystick'),
    'rate_hz': (50.0, 'command rate (wall clock)'),
    'scale': (0.5, 'fraction of each joint max_velocity at full stick'),
    'max_lead': (0.15, 'rad the position target may lead the measured joint'),
    'deadzone': (0.1, 'stick dead zone'),
    'axes': ([0, 1, 3, 4, 2, 5], 'joystick axis per joint (twist: x, y, z, yaw)'),
    'axis_signs': ([1.0, -1.0, -1.0, 1.0, 1.0, 1.0], 'sign per mapped axis'),
    'key_bindings': (['q:a', 'w:s', 'e:d', 'r:f', 't:g', 'y:h'], "'plus:minus' keys per joint"),
    'deadman_button': (4, 'joystick button that must be held (4: left shoulder on most pads)'),
    'deadman_key': ('space', 'keyboard key that must be held'),
    'episode_keys': (list(DEFAULT_KEYS), "'action:key' for start, stop, discard, success, "
                                         'failure'),
    'episode_buttons': (list(DEFAULT_BUTTONS), "'action:button' (joystick) for the same"),
    'recorder': ('/recorder_node', 'recorder_node whose services the episode keys call'),
    'sim_reset': ('/sim_node/reset', 'Trigger service that starts a fresh task; empty: none'),
    'window': (True, 'open the window (the keyboard device always does)'),
    'view_rate_hz': (10.0, 'live MuJoCo view of the sim in the window; 0: none'),
    'max_linear': (0.2, 'twist mode: m/s at full input'),
    'max_angular': (0.5, 'twist mode: rad/s at full input'),
    'twist_topic': ('/cmd_vel', 'twist mode: where Twist goes'),
}
LATCHED_STATUS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TeleopNode(Node):

    def __init__(self, **kwargs):
        super().__init__('teleop_node', **kwargs)
        self.view = self.window = None  # destroy_node() runs even when a parameter is refused
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
            max_linear=p('max_linear'), max_angular=p('max_angular'), max_lead=p('max_lead'),
            command_interface=p('command_interface'))
        self.mapper = TeleopMapper(config)
        used = [k for pair in config.joint_keys for k in pair] + [config.deadman_key]
        self.episode_keys = parse_bindings(p('episode_keys'), used, 'episode_keys')
        self.episode_buttons = parse_bindings(p('episode_buttons'), [config.deadman_button],
                                              'episode_buttons')
        self.dt = 1.0 / p('rate_hz')
        self.measured = None
        self.goal = None
        if mode == 'twist':
            self.msg_type, topic = 'geometry_msgs/msg/Twist', p('twist_topic')
        else:
            self.msg_type, topic = self.contract.teleop.type, self.contract.teleop.topic
            if self.msg_type not in TELEOP_TYPES:
                raise ContractError(f'{self.contract.source}: teleop.type: teleop_node sends '
                                    f'{", ".join(TELEOP_TYPES)}, not {self.msg_type}')
        self.pub = self.create_publisher(msg_class(self.msg_type), topic, 10)
        self._subscribe_state()
        self.create_subscription(Point, GOAL_TOPIC, self.on_goal, LATCHED_QOS)
        recorder = p('recorder').rstrip('/')
        self.recorder = {name: self.create_client(kind, f'{recorder}/{name}')
                         for name, kind in (('start', Trigger), ('stop', Trigger),
                                            ('discard', Trigger), ('set_success', SetBool))}
        self.sim_reset = self.create_client(Trigger, p('sim_reset')) if p('sim_reset') else None
        keyboard = p('device') == 'keyboard'
        self.overlay = OverlayState(
            mode=mode, topic=topic,
            deadman_label=config.deadman_key if keyboard else f'button {config.deadman_button}',
            joint_keys=[(a, b, j) for (a, b), j in zip(config.joint_keys, config.joints)],
            episode_keys=(dict(self.episode_keys) if keyboard else
                          {f'button {b}': a for b, a in self.episode_buttons.items()}))
        self.create_subscription(String, f'{recorder}/status', self.on_recorder_status,
                                 LATCHED_STATUS)
        self.create_subscription(String, STATUS_TOPIC, self.on_task_status, 10)
        # Starting an episode: 'quiet' (one tick without commands, so none is still on its way
        # when the sim resets), 'resetting' (reset called), 'fresh' (waiting for a joint state
        # stamped at or after reset_stamp, sim clock ns); None otherwise.
        self.starting = None
        self.reset_stamp = None
        self.device = p('device')
        self.joystick_index = p('joystick_index')
        self.joystick = None
        self.was_active = False
        self._ticks = 0
        self._last_tick = None
        self.open_device(p('window') or self.device == 'keyboard', p('view_rate_hz'))
        steady = Clock(clock_type=ClockType.STEADY_TIME)  # the window lives before /clock does
        self.create_timer(self.dt, self.on_tick, clock=steady)
        self.get_logger().info(f'{mode} from {self.device} -> {topic} ({self.msg_type}); '
                               f'hold {self.overlay.deadman_label} to move')

    def _subscribe_state(self):
        states = [s for s in self.contract.observations.values() if s.type == JOINT_STATE]
        action = self.contract.action
        self.state_names = dict(zip(action.state_joints, action.joints))
        self.create_subscription(JointState, states[0].topic if states else '/joint_states',
                                 self.on_joint_state, 10)

    def open_device(self, window: bool, view_rate_hz: float):
        if not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
            os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')  # events need video; no window
        import pygame
        pygame.display.init()
        if window:
            from dil_ros.teleop.window import TeleopWindow
            self.window = TeleopWindow(title='dil_ros teleop: hold the dead-man key to move')
            if view_rate_hz > 0:
                from dil_ros.teleop.view import SceneView
                self.view = SceneView(view_rate_hz)
        if self.device != 'keyboard':
            pygame.joystick.init()
            self.connect_joystick()

    def connect_joystick(self):
        import pygame
        if self.joystick is None and pygame.joystick.get_count() > self.joystick_index:
            self.joystick = pygame.joystick.Joystick(self.joystick_index)
            self.get_logger().info(f'joystick: {self.joystick.get_name()}')

    # --- inputs from the robot and the recorder -----------------------------------------------
    def on_joint_state(self, msg):
        if self.starting in ('quiet', 'resetting'):
            return  # the arm is about to jump: no target may be built on where it was
        if self.starting == 'fresh':
            if stamp_ns(msg, 0) < self.reset_stamp:
                return  # from before the reset: the arm is no longer there
            self.starting = None
            self.measured = self._measured(msg)
            self.mapper.reanchor(self.measured)
            self.call('start')
        else:
            self.measured = self._measured(msg)
        if self.view is not None:
            self.view.update(self.measured, self.goal)

    def _measured(self, msg):
        return {self.state_names[n]: p for n, p in zip(msg.name, msg.position)
                if n in self.state_names}

    def on_goal(self, msg):
        self.goal = (msg.x, msg.y, msg.z)

    def on_recorder_status(self, msg):
        self.overlay.recorder = json.loads(msg.data)

    def on_task_status(self, msg):
        self.overlay.task = json.loads(msg.data)

    # --- episode keys --------------------------------------------------------------------------
    def on_action(self, action: str):
        status = self.overlay.recorder or {}
        if action == 'start':
            if status.get('recording'):
                self.say('recording already: stop or discard it first')
            elif self.starting is not None:
                self.say('start: still starting the last episode')
            elif self.sim_reset is None:
                self.call('start')
            elif not self.sim_reset.service_is_ready():
                self.say(f'start: {self.sim_reset.srv_name} is not available')
            else:
                self.starting = 'quiet'
                self.measured = None  # send nothing until the fresh episode's state arrives
        elif action in ('success', 'failure'):
            self.call('set_success', SetBool.Request(data=action == 'success'))
        else:
            self.call(action)

    def on_reset(self, future):
        reply = future.result()
        if reply is None or not reply.success:
            self.starting = None
            self.say(f'start: sim reset failed: {getattr(reply, "message", "no reply")}')
            return
        self.reset_stamp = round(float(json.loads(reply.message)['stamp']) * 1e9)
        self.starting = 'fresh'

    def call(self, name, request=None):
        client = self.recorder[name]
        if not client.service_is_ready():
            self.say(f'{name}: {client.srv_name} is not available (is recorder_node running?)')
            return
        client.call_async(request or Trigger.Request()).add_done_callback(
            lambda future: self.on_reply(name, future.result()))

    def on_reply(self, name, reply):
        if reply is None:
            self.say(f'{name}: no reply')
            return
        if reply.success and name in ('start', 'stop', 'discard'):
            # The reply can overtake ~/status: a start key right after a stop must not be refused.
            self.overlay.recorder = dict(self.overlay.recorder or {}, recording=name == 'start')
        self.say(f'{name}: {reply.message}')

    def say(self, text: str):
        self.overlay.message = text
        self.get_logger().info(text)

    # --- the tick --------------------------------------------------------------------------------
    def on_tick(self):
        import pygame
        if self.starting == 'quiet':  # the last command went out a tick ago at least
            self.starting = 'resetting'
            self.sim_reset.call_async(Trigger.Request()).add_done_callback(self.on_reset)
        events = []
        for event in pygame.event.get():
            if event.type == pygame.JOYDEVICEADDED:
                self.connect_joystick()
            elif event.type == pygame.JOYDEVICEREMOVED:
                self.joystick = None
            translated = from_pygame(event)
            if translated is not None:
                events.append(translated)
        self.mapper.handle(events)
        for action in pressed_actions(events, self.episode_keys, self.episode_buttons):
            self.on_action(action)
        now = time.monotonic()  # integrate over the time that passed: late ticks stay on pace
        dt, self._last_tick = min(now - (self._last_tick or now - self.dt), 2 * self.dt), now
        command = self.mapper.update(dt, self.measured)
        # Released: one hold command - or, while recording, a hold every tick, so the recorded
        # action never has a gap.
        recording = bool((self.overlay.recorder or {}).get('recording'))
        if command is not None and (command.active or self.was_active or recording):
            self.pub.publish(command_message(command, self.msg_type,
                                             self.contract.action.joints, self.dt))
        self.was_active = bool(command and command.active)
        self._ticks += 1
        if self.window is not None and self._ticks % max(1, round(0.05 / self.dt)) == 0:
            self.overlay.deadman = self.mapper.deadman()
            self.overlay.view_note = self.view.note if self.view else ''
            if self.view is not None and self.view.error:
                self.get_logger().warning(f'no live view: {self.view.error}')
                self.view.error = ''  # said once
            self.window.draw(self.view.frame if self.view else None, overlay_lines(self.overlay))

    def destroy_node(self):
        import pygame
        if self.view is not None:
            self.view.close()
        pygame.quit()
        return super().destroy_node()


def main(args=None):
    return spin_node(TeleopNode, args)


if __name__ == '__main__':
    sys.exit(main())
