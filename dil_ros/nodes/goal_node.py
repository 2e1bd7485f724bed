"""The task's goal for an arm that is not the MuJoCo sim: the Gazebo twin, or a real arm.

  out /task/goal  geometry_msgs/Point (transient local; at each reset and every 0.1 s of ROS time)
Service ~/reset (std_srvs/Trigger): draw the next goal with the ``seed`` parameter, then increment
it; the reply is JSON {episode, seed, goal, stamp} as from sim_node's ~/reset. Goals are drawn by
``ReachAroundTask.sample`` as in sim_node, so a seed gives the same goal in Gazebo as in MuJoCo
and a policy trained on MuJoCo demonstrations sees the inputs it was trained on.
"""
import json
from typing import Any, Dict

from geometry_msgs.msg import Point
from rclpy.node import Node
from std_srvs.srv import Trigger

from dil_ros.nodes import param_overrides, spin_node
from dil_ros.nodes.task_topics import (declare_seed, goal_msg, GOAL_PERIOD_S, GOAL_TOPIC,
                                       LATCHED_QOS, take_seed)
from dil_ros.sim.task import ReachAroundTask


class GoalNode(Node):
    """``GoalNode(seed=3)``: parameter overrides, for in-process use."""

    def __init__(self, node_name: str = 'goal_node', **overrides):
        super().__init__(node_name, parameter_overrides=param_overrides(overrides))
        declare_seed(self)
        self.task = ReachAroundTask()
        self.pub = self.create_publisher(Point, GOAL_TOPIC, LATCHED_QOS)
        self.create_service(Trigger, '~/reset', self.on_reset)
        self.episode_index = -1
        self.episode = None
        info = self.reset_episode()
        self.timer = self.create_timer(GOAL_PERIOD_S, self.publish_goal)
        self.get_logger().info(f'goal ready: {json.dumps(info)}')

    def reset_episode(self) -> Dict[str, Any]:
        seed = take_seed(self)
        self.episode = self.task.sample(seed)
        self.episode_index += 1
        self.publish_goal()
        return {'episode': self.episode_index, 'seed': seed, 'goal': list(self.episode.goal),
                'stamp': self.get_clock().now().nanoseconds * 1e-9}

    def on_reset(self, request, response):
        response.success = True
        response.message = json.dumps(self.reset_episode())
        self.get_logger().info(f'reset: {response.message}')
        return response

    def publish_goal(self) -> None:
        self.pub.publish(goal_msg(self.episode.goal))


def main(args=None):
    return spin_node(GoalNode, args)


if __name__ == '__main__':
    main()
