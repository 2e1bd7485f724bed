"""Scripted expert teleoperating the arm: a stand-in for a human with a joystick.

Subscribes /joint_states, /task/goal and /task/status (the sim's episode id and state); at each new
episode it picks a side (inner/outer) at random and plans from the measured joints to the goal;
then it publishes position targets on the contract's teleop topic (/arm_controller/commands,
std_msgs/Float64MultiArray, joint order) at ``rate`` Hz of ROS time (sim time with use_sim_time)
until the episode ends. It plans from the first joint state stamped after the episode started.
"""

import json
import sys
from typing import List, Optional

from geometry_msgs.msg import Point
import numpy as np
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String

from dil_ros.nodes import param_overrides, spin_node
from dil_ros.nodes.task_topics import GOAL_TOPIC, LATCHED_QOS, STATE_QOS, STATUS_TOPIC
from dil_ros.sim.expert import ScriptedExpert, SIDES
from dil_ros.sim.task import JOINT_NAMES, RUNNING

# /task/status stamps are rounded to 1 us; a joint state from just before the reset must not pass
# for one after it (planning from the previous episode's pose swings the arm through the pillar).
STAMP_MARGIN_S = 1e-3


class ExpertNode(Node):
    """``ExpertNode(use_sim_time=True, seed=1)`` builds it with parameter overrides."""

    def __init__(self, node_name: str = 'expert_node', **overrides):
        super().__init__(node_name, parameter_overrides=param_overrides(overrides))

        def declare(name, default, description):
            return self.declare_parameter(name, default, ParameterDescriptor(
                description=description, read_only=True)).value

        rate = declare('rate', 20.0, 'command rate in Hz of ROS time (>= the policy rate)')
        seed = declare('seed', -1, 'seed for side choice and noise; -1 = from the OS')
        self.side = declare('side', '', "'' = random per episode, or one of inner/outer") or None
        joint_noise = declare('joint_noise', 0.015, 'amplitude of the smooth joint wobble (rad)')
        topic = declare('command_topic', '/arm_controller/commands', 'teleop topic (contract)')
        if self.side is not None and self.side not in SIDES:
            raise ValueError(f"side must be '' or one of {SIDES}, got {self.side!r}")

        self.expert = ScriptedExpert(seed=None if seed < 0 else seed, joint_noise=joint_noise)
        self.joint_index: Optional[List[int]] = None
        self.q: Optional[np.ndarray] = None
        self.q_stamp = 0.0
        self.episode_start = 0.0
        self.goal: Optional[np.ndarray] = None
        self.episode: Optional[int] = None
        self.running = False
        self.plan = None
        self.plan_start = None
        self.sides: List[str] = []

        self.pub = self.create_publisher(Float64MultiArray, topic, STATE_QOS)
        self.create_subscription(JointState, '/joint_states', self.on_joint_states, STATE_QOS)
        self.create_subscription(Point, GOAL_TOPIC, self.on_goal, LATCHED_QOS)
        self.create_subscription(String, STATUS_TOPIC, self.on_status, STATE_QOS)
        self.timer = self.create_timer(1.0 / rate, self.on_timer)

    def on_joint_states(self, msg: JointState) -> None:
        try:
            self.q = np.array([msg.position[msg.name.index(j)] for j in JOINT_NAMES])
            self.q_stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        except ValueError:
            self.get_logger().error(f'/joint_states lacks one of {JOINT_NAMES}: {list(msg.name)}',
                                    throttle_duration_sec=5.0)

    def on_goal(self, msg: Point) -> None:
        self.goal = np.array([msg.x, msg.y, msg.z])

    def on_status(self, msg: String) -> None:
        status = json.loads(msg.data)
        if status['episode'] != self.episode:
            self.episode, self.plan = status['episode'], None
            self.goal = np.asarray(status['goal'], dtype=float)
            self.episode_start = status['stamp'] - status['time']
        self.running = status['state'] == RUNNING

    def on_timer(self) -> None:
        if not self.running or self.q is None or self.goal is None:
            return
        if self.plan is None and self.q_stamp <= self.episode_start + STAMP_MARGIN_S:
            return  # joint states from before the reset (the margin absorbs stamp rounding)
        now = self.get_clock().now().nanoseconds * 1e-9
        if self.plan is None:
            self.plan = self.expert.plan(self.q, self.goal, self.side)
            self.plan_start = now
            self.sides.append(self.plan.side)
            self.get_logger().info(f'episode {self.episode}: passing {self.plan.side}, '
                                   f'{self.plan.duration:.2f} s')
        q = self.plan(now - self.plan_start)
        self.pub.publish(Float64MultiArray(data=q.tolist()))


def main(args=None):
    return spin_node(ExpertNode, args)


if __name__ == '__main__':
    sys.exit(main())
