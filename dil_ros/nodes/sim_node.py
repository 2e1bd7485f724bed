"""MuJoCo arm behind the interfaces ros2_control gives a real arm, plus the task's topics.

Topics (controller name from ``controller_name``):
  out /joint_states                   sensor_msgs/JointState (name, position, velocity; sim time)
  out /clock                          rosgraph_msgs/Clock (every ``publish_rate`` tick of sim time)
  in  /arm_controller/joint_trajectory trajectory_msgs/JointTrajectory (JTC semantics: replaces the
                                      active trajectory from now; bad names, empty, non-increasing
                                      times are rejected with a log)
  in  /arm_controller/commands        std_msgs/Float64MultiArray (position targets, joint order)
  out /task/goal                      geometry_msgs/Point (transient local; at reset and 10 Hz;
                                      none with publish_goal false: the vision variant, where
                                      the goal is seen only as a marker in the camera images)
  out /camera/<name>/image_raw        sensor_msgs/Image rgb8 for each of ``camera_names`` (off by
                                      default) at camera_rate_hz sim Hz, stamped with sim time,
                                      rendered on a thread of its own (dil_ros/sim/cameras.py)
  out /task/status                    std_msgs/String JSON {episode seed state time stamp goal}
                                      (at reset, episode end and 10 Hz; stamp = sim clock)
  out /task/episode_result            std_msgs/String JSON per finished episode (transient local)
Service ~/reset (std_srvs/Trigger): start an episode with the ``seed`` parameter, then increment
it; set ``seed`` first to replay an episode (same seed, same goal and initial state).
Parameters ``perturbation`` / ``perturb_time`` / ``perturb_magnitude`` (read at each reset) inject
a fault into the episodes that follow (dil_ros/sim/perturbations.py); the episode result then
carries ``perturbation`` and ``perturb_onset`` (sim clock).
"""

import json
import math
import sys
import time
from typing import Any, Dict

from geometry_msgs.msg import Point
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from dil_ros.nodes import param_overrides, spin_node
from dil_ros.nodes.image_messages import rgb8_image
from dil_ros.nodes.task_topics import (declare_seed, goal_msg, GOAL_PERIOD_S, GOAL_TOPIC,
                                       LATCHED_QOS, RESULT_TOPIC, STATE_QOS, STATUS_TOPIC,
                                       take_seed)
from dil_ros.sim.arm_sim import ArmSim, TrajectoryError
from dil_ros.sim.perturbations import KINDS as PERTURBATIONS, PerturbationError, Perturber
from dil_ros.sim.task import episode_result, ReachAroundTask, RUNNING, SUCCESS

VISION_MARKER = (0.05, (0.1, 0.9, 0.1, 1.0))   # goal marker (radius m, rgba) when not published


def to_time_msg(seconds: float):
    from builtin_interfaces.msg import Time
    ns = int(round(seconds * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


class SimNode(Node):
    """``SimNode(real_time_factor=0.0, seed=3)``: parameter overrides, for in-process use."""

    def __init__(self, node_name: str = 'sim_node', **overrides):
        super().__init__(node_name, parameter_overrides=param_overrides(overrides))
        self.video = self.cameras = None  # destroy_node() runs even when a parameter is refused

        def declare(name, default, description, read_only=False):
            return self.declare_parameter(name, default, ParameterDescriptor(
                description=description, read_only=read_only)).value

        declare_seed(self)
        rtf = declare('real_time_factor', 1.0, 'sim s per wall s; 0 = as fast as possible')
        rate = declare('publish_rate', 100.0, '/joint_states and /clock rate in sim Hz', True)
        self.auto_reset = declare('auto_reset', True, 'start the next episode after one ends')
        self.reset_delay = declare('reset_delay', 0.5, 'sim seconds between episode end and reset')
        self.max_episodes = declare('max_episodes', 0, 'episodes with auto_reset; 0 = no limit')
        time_limit = declare('time_limit', 6.0, 'episode time limit in sim seconds; 0 = none '
                             '(recording by hand: the operator ends episodes)', True)
        self.settle_time = declare(
            'settle_time', 0.5, 'sim seconds an episode runs on after success before its result '
            'is published (recordings then show the arm arriving, not only approaching)')
        controller = declare('controller_name', 'arm_controller', 'controller name', True)
        video = declare('record_video', '', 'mp4 path to render to; empty = none', True)
        fps = declare('video_fps', 30.0, 'video frame rate (sim time)', True)
        inset = declare('video_inset_camera', '', 'a camera drawn small in the top-right corner '
                        'of the video (e.g. top, what a vision policy sees); empty: none', True)
        self.publish_goal_topic = declare(
            'publish_goal', True, f'publish {GOAL_TOPIC}; false: the goal is seen only as a '
            'bold marker in the camera images (the vision variant of the task)', True)
        cameras = self.declare_parameter('camera_names', Parameter.Type.STRING_ARRAY,
                                         ParameterDescriptor(
            description='MuJoCo cameras published as /camera/<name>/image_raw (rgb8); unset or '
                        'empty: no images', read_only=True)).value or []
        camera_rate = declare('camera_rate_hz', 10.0, 'image rate in sim Hz', True)
        camera_width = declare('camera_width', 64, 'image width in pixels', True)
        camera_height = declare('camera_height', 64, 'image height in pixels', True)

        declare('perturbation', '', f'fault injected into the next episodes: one of '
                f'{PERTURBATIONS} (empty: none); read at each reset')
        declare('perturb_time', 1.0, 'episode time (sim s) at which the perturbation starts')
        declare('perturb_magnitude', 0.0, 'size of the perturbation (rad, m or N); 0: the '
                "kind's default (dil_ros/sim/perturbations.py)")
        self.perturber = Perturber()
        self.sim = ArmSim(ReachAroundTask(time_limit=time_limit if time_limit > 0 else math.inf))
        self.substeps = max(1, int(round(1.0 / (rate * self.sim.dt))))
        self.tick = self.substeps * self.sim.dt
        self.rtf = max(0.0, float(rtf))

        self.js_pub = self.create_publisher(JointState, '/joint_states', STATE_QOS)
        self.clock_pub = self.create_publisher(ClockMsg, '/clock', STATE_QOS)
        self.goal_pub = (self.create_publisher(Point, GOAL_TOPIC, LATCHED_QOS)
                         if self.publish_goal_topic else None)
        self.status_pub = self.create_publisher(String, STATUS_TOPIC, STATE_QOS)
        self.result_pub = self.create_publisher(String, RESULT_TOPIC, LATCHED_QOS)
        self.create_subscription(JointTrajectory, f'/{controller}/joint_trajectory',
                                 self.on_trajectory, STATE_QOS)
        self.create_subscription(Float64MultiArray, f'/{controller}/commands', self.on_commands,
                                 STATE_QOS)
        self.create_service(Trigger, '~/reset', self.on_reset)
        if not self.publish_goal_topic:
            self.sim.set_goal_marker(*VISION_MARKER)
        if cameras:
            self._open_cameras(list(cameras), camera_width, camera_height, camera_rate)

        if video:
            self.video, why = self._open_video(video, fps, inset)
            if self.video is None:
                self.get_logger().warning(f'record_video: {why}; continuing without video')

        self.episode_index = -1
        self.episodes_ended = 0
        self.result_sent = False
        self.reset_at = None
        self._ticks = 0
        self.reset_episode()
        self._wall0 = time.monotonic()
        self._sim0 = self.sim.clock
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        period = self.tick / self.rtf / 2 if self.rtf > 0 else 0.0
        self.timer = self.create_timer(period, self.on_timer, clock=steady)
        self.get_logger().info(
            f'sim ready: {self.tick * 1e3:.0f} ms ticks, real_time_factor {self.rtf or "max"}, '
            f'episode {self.episode_index} seed {self.sim.episode.seed}')

    def _open_cameras(self, names, width, height, rate_hz) -> None:
        from dil_ros.sim.cameras import CameraThread
        pubs = {name: self.create_publisher(Image, f'/camera/{name}/image_raw',
                                            qos_profile_sensor_data) for name in names}

        def publish(name, rgb, clock):   # from the camera thread
            try:
                if self.perturber.blackout:
                    rgb = rgb * 0
                pubs[name].publish(rgb8_image(rgb, to_time_msg(clock), name))
            except Exception:  # noqa: BLE001 - Ctrl+C may shut the context down meanwhile
                if self.context.ok():
                    raise
        self.cameras = CameraThread(self.sim.model, names, width, height, rate_hz, publish,
                                    on_error=self.get_logger().warning)

    def _open_video(self, path, fps, inset=''):
        from dil_ros.sim.video import VideoRecorder
        return VideoRecorder.open(self.sim, path, fps=fps, inset=inset)

    # --- episodes ----------------------------------------------------------------------------
    def reset_episode(self) -> Dict[str, Any]:
        seed = take_seed(self)
        self.perturber.restore(self.sim)
        self.sim.reset(seed)
        try:
            self.perturber = Perturber(*(self.get_parameter(n).value for n in (
                'perturbation', 'perturb_time', 'perturb_magnitude')))
        except PerturbationError as exc:
            self.get_logger().error(f'{exc}; no perturbation')
            self.perturber = Perturber()
        self.perturber.arm(self.sim)
        self.episode_index += 1
        self.result_sent = False
        self._done_at = None
        self.reset_at = None
        self.publish_goal()
        self.publish_status()
        return {'episode': self.episode_index, 'seed': seed, 'goal': list(self.sim.episode.goal),
                'stamp': self.sim.clock}

    def on_reset(self, request, response):
        info = self.reset_episode()
        response.success = True
        response.message = json.dumps(info)
        self.get_logger().info(f'reset: {response.message}')
        return response

    # --- commands ----------------------------------------------------------------------------
    def on_commands(self, msg: Float64MultiArray) -> None:
        try:
            self.sim.command_positions(msg.data)
        except TrajectoryError as exc:
            self.get_logger().error(f'commands rejected: {exc}')

    def on_trajectory(self, msg: JointTrajectory) -> None:
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        try:
            self.sim.command_trajectory(
                msg.joint_names,
                [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points],
                [list(p.positions) for p in msg.points],
                [list(p.velocities) for p in msg.points] or None,
                start=stamp or None)
        except TrajectoryError as exc:
            self.get_logger().error(f'trajectory rejected: {exc}')

    # --- stepping ----------------------------------------------------------------------------
    def on_timer(self) -> None:
        if self.rtf > 0:
            due = (time.monotonic() - self._wall0) * self.rtf - (self.sim.clock - self._sim0)
            n = min(int(due / self.tick), 10)
        else:
            n = 1
        for _ in range(n):
            self.step_once()

    def step_once(self) -> None:
        sim = self.sim
        self.perturber.before_step(sim)
        sim.step(self.substeps)
        self._ticks += 1
        stamp = to_time_msg(sim.clock)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        js = JointState(name=list(sim.joint_names),
                        position=self.perturber.reported_positions(sim.positions).tolist(),
                        velocity=sim.velocities.tolist())
        js.header.stamp = stamp
        self.js_pub.publish(js)
        if self.video is not None:
            self.video.maybe_capture(sim)
        if self.cameras is not None:
            self.cameras.maybe_snapshot(sim)
        if sim.done and self._done_at is None:
            self._done_at = sim.clock
        if sim.done and not self.result_sent and not self.settling:
            self.result_sent = True
            self.episodes_ended += 1
            result = episode_result(sim.episode, self.episode_index, sim.status,
                                    sim.episode_time - (sim.clock - self._done_at),
                                    stamp=sim.clock)
            if self.perturber.kind:
                result.update(perturbation=self.perturber.kind,
                              perturb_onset=self.perturber.onset)
            self.result_pub.publish(String(data=json.dumps(result)))
            self.publish_status()
            self.get_logger().info(f'episode {self.episode_index} (seed {sim.episode.seed}): '
                                   f'{sim.status} after {sim.episode_time:.2f} s')
            if self.auto_reset and (self.max_episodes <= 0
                                    or self.episodes_ended < self.max_episodes):
                self.reset_at = sim.clock + self.reset_delay
        if self.reset_at is not None and sim.clock >= self.reset_at:
            self.reset_episode()
        if self._ticks % max(1, int(round(GOAL_PERIOD_S / self.tick))) == 0:
            self.publish_goal()
            self.publish_status()

    def publish_goal(self) -> None:
        if self.goal_pub is not None:
            self.goal_pub.publish(goal_msg(self.sim.episode.goal))

    @property
    def settling(self) -> bool:
        """Succeeded, within settle_time: still 'running' for the expert and the recorder."""
        return (self.sim.status == SUCCESS and self._done_at is not None
                and self.sim.clock < self._done_at + self.settle_time)

    def publish_status(self) -> None:
        sim = self.sim
        state = RUNNING if self.settling else sim.status
        self.status_pub.publish(String(data=json.dumps({
            'episode': self.episode_index, 'seed': sim.episode.seed, 'state': state,
            'time': round(sim.episode_time, 4), 'stamp': round(sim.clock, 6),
            'goal': list(sim.episode.goal)})))

    def destroy_node(self):
        if self.cameras is not None:
            self.cameras.close()
            self.cameras = None
        if self.video is not None:
            self.video.close()
            self.video = None
        return super().destroy_node()


def main(args=None):
    return spin_node(SimNode, args)


if __name__ == '__main__':
    sys.exit(main())
