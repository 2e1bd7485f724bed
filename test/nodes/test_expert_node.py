"""sim_node + expert_node over DDS on sim time: the expert teleoperates episodes to success."""
import json
import time

import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')
pytest.importorskip('mujoco')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402

from dil_ros.nodes.expert_node import ExpertNode  # noqa: E402
from dil_ros.nodes.sim_node import SimNode  # noqa: E402


class Watcher(Node):
    def __init__(self, teleop_topic):
        super().__init__('episode_watcher')
        self.results, self.commands = [], []
        self.create_subscription(String, '/task/episode_result', lambda m: self.results.append(
            json.loads(m.data)), QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.create_subscription(Float64MultiArray, teleop_topic, self.commands.append, 100)


@pytest.mark.parametrize('side', ['inner', 'outer'])
def test_expert_succeeds_over_dds(ros_context, contract, side):
    sim = SimNode(real_time_factor=0.0, seed=3, max_episodes=2, reset_delay=0.2)
    expert = ExpertNode(use_sim_time=True, seed=1, side=side)
    watcher = Watcher(contract.teleop.topic)
    ex = SingleThreadedExecutor()
    for node in (sim, expert, watcher):
        ex.add_node(node)
    try:
        end = time.monotonic() + 60.0
        while len(watcher.results) < 2 and time.monotonic() < end:
            ex.spin_once(timeout_sec=0.01)
        assert [r['status'] for r in watcher.results] == ['success', 'success'], watcher.results
        assert [r['seed'] for r in watcher.results] == [3, 4]
        assert expert.sides == [side, side]
        assert watcher.commands and all(len(c.data) == 3 for c in watcher.commands)
        assert all(r['duration'] < 4.0 for r in watcher.results)
    finally:
        ex.shutdown()
        for node in (sim, expert, watcher):
            node.destroy_node()


def test_expert_rejects_unknown_side(ros_context):
    with pytest.raises(ValueError, match='side'):
        ExpertNode(side='over')
