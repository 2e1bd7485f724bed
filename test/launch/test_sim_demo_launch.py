"""launch/sim_demo.launch.py: sim_node + expert_node come up, publish, and finish an episode.

The launch runs as `ros2 launch` runs it (see conftest.py: installed package, skips elsewhere);
after shutdown every node has exited cleanly. A node dying at start fails the launch.
"""
import json
import threading

import pytest

NEEDS = 'needs the ROS launch packages (launch, launch_ros, launch_pytest, launch_testing_ros)'
launch_pytest = pytest.importorskip('launch_pytest', reason=NEEDS)
pytest.importorskip('launch_ros', reason=NEEDS)
launch_testing_ros = pytest.importorskip('launch_testing_ros', reason=NEEDS)
rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Point  # noqa: E402
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402

pytestmark = pytest.mark.ros


@launch_pytest.fixture
def sim_demo(launch_dir, exit_codes):
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(launch_dir / 'sim_demo.launch.py')),
            launch_arguments={'real_time_factor': '1.0', 'max_episodes': '1',
                              'seed': '5'}.items()),
        exit_codes.handler,
    ])


@pytest.mark.launch(fixture=sim_demo)
def test_topics_and_one_successful_episode(ros_context, exit_codes):
    topics = [('/clock', Clock), ('/joint_states', JointState), ('/task/goal', Point),
              ('/task/status', String), ('/arm_controller/commands', Float64MultiArray)]
    with launch_testing_ros.WaitForTopics(topics, timeout=30.0):
        pass
    node = rclpy.create_node('sim_demo_launch_probe')
    results = []
    got = threading.Event()

    def on_result(msg):
        results.append(json.loads(msg.data))
        got.set()

    node.create_subscription(String, '/task/episode_result', on_result,
                             QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        assert got.wait(timeout=60.0), 'no /task/episode_result within 60 s'
        assert results[0]['seed'] == 5
        assert results[0]['status'] == 'success', results[0]
    finally:
        executor.shutdown()
        thread.join(timeout=5.0)
        node.destroy_node()
    yield
    assert exit_codes.by_node() == {'sim_node': 0, 'expert_node': 0}


def test_a_node_dying_at_start_fails_the_launch(run_launch):
    """seed:=-1 is refused by sim_node's parameter range: the launch exits 1, not 0 or never."""
    assert run_launch('sim_demo.launch.py', {'seed': '-1', 'real_time_factor': '0.0'},
                      timeout=60.0) == 1
