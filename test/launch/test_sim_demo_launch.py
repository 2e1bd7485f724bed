"""launch/sim_demo.launch.py brings up sim_node + expert_node; an episode ends in success.

Needs launch, launch_ros, launch_pytest and an installed dil_ros (colcon); skipped elsewhere.
"""
import json
from pathlib import Path
import threading

import pytest

launch_pytest = pytest.importorskip('launch_pytest')
pytest.importorskip('launch_ros')
rclpy = pytest.importorskip('rclpy')

from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from std_msgs.msg import String  # noqa: E402

pytestmark = pytest.mark.ros
LAUNCH = Path(__file__).resolve().parents[2] / 'launch' / 'sim_demo.launch.py'


@launch_pytest.fixture
def sim_demo():
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH)),
            launch_arguments={'real_time_factor': '0.0', 'max_episodes': '1',
                              'seed': '5'}.items()),
    ])


@pytest.mark.launch(fixture=sim_demo)
def test_one_episode_succeeds(ros_context):
    node = rclpy.create_node('sim_demo_launch_probe')
    results = []
    got = threading.Event()

    def on_result(msg):
        results.append(json.loads(msg.data))
        got.set()

    node.create_subscription(String, '/task/episode_result', on_result,
                             QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    try:
        executor = rclpy.executors.SingleThreadedExecutor()
        executor.add_node(node)
        thread = threading.Thread(target=executor.spin, daemon=True)
        thread.start()
        assert got.wait(timeout=60.0), 'no /task/episode_result within 60 s'
        assert results[0]['seed'] == 5
        assert results[0]['status'] == 'success', results[0]
        executor.shutdown()
    finally:
        node.destroy_node()
