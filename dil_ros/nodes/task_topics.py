"""The reach-around task's topics, shared by sim_node, goal_node and expert_node."""
from typing import Sequence

from geometry_msgs.msg import Point
from rcl_interfaces.msg import IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

GOAL_TOPIC = '/task/goal'               # geometry_msgs/Point, the contract's environment state
STATUS_TOPIC = '/task/status'           # std_msgs/String JSON (sim_node)
RESULT_TOPIC = '/task/episode_result'   # std_msgs/String JSON per finished episode (sim_node)
GOAL_PERIOD_S = 0.1                     # the goal is re-sent this often (policy_node's freshness)

STATE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def goal_msg(goal: Sequence[float]) -> Point:
    x, y, z = (float(v) for v in goal)
    return Point(x=x, y=y, z=z)


def declare_seed(node: Node) -> None:
    """The ``seed`` parameter of an episode source: >= 0 (numpy's rule), refused otherwise."""
    node.declare_parameter('seed', 0, ParameterDescriptor(
        description='seed of the next episode; increments at each reset',
        integer_range=[IntegerRange(from_value=0, to_value=2**31 - 1, step=1)]))


def take_seed(node: Node) -> int:
    """The node's ``seed`` parameter for the episode starting now; the parameter counts up."""
    seed = int(node.get_parameter('seed').value)
    node.set_parameters([Parameter('seed', value=seed + 1)])
    return seed
