"""launch/policy.launch.py: autostart brings policy_node to active; commands reach a fake robot.

Needs launch, launch_ros, launch_pytest and an installed dil_ros (colcon); skipped elsewhere.
"""
from pathlib import Path
import sys
import threading

import pytest

launch_pytest = pytest.importorskip('launch_pytest')
pytest.importorskip('launch_ros')
rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Point  # noqa: E402
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / 'launch' / 'policy.launch.py'


@pytest.fixture(scope='module')
def policy_file(tmp_path_factory, contract):
    sys.path.insert(0, str(ROOT / 'test' / 'nodes'))
    from policy_artifacts import offset_artifact
    return str(offset_artifact(tmp_path_factory.mktemp('launch') / 'policy.ts', contract))


@launch_pytest.fixture
def policy_launch(policy_file):
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH)),
            launch_arguments={'policy_path': policy_file, 'start_enabled': 'true'}.items()),
    ])


@pytest.mark.launch(fixture=policy_launch)
def test_commands_arrive(ros_context):
    node = rclpy.create_node('policy_launch_fake_robot')
    got = threading.Event()
    commands = []

    def on_command(msg):
        commands.append(list(msg.data))
        if len(commands) >= 10:
            got.set()

    def publish_state():
        msg = JointState(name=['elbow', 'shoulder_pan', 'shoulder_lift'],
                         position=[1.0, 0.5, -0.5])
        msg.header.stamp = node.get_clock().now().to_msg()
        js.publish(msg)
        goal.publish(Point())

    js = node.create_publisher(JointState, '/joint_states', 10)
    goal = node.create_publisher(Point, '/task/goal', 10)
    node.create_subscription(Float64MultiArray, '/arm_controller/commands', on_command, 10)
    node.create_timer(0.01, publish_state)
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        assert got.wait(timeout=30.0), 'no /arm_controller/commands within 30 s'
        assert len(commands[-1]) == 3
    finally:
        executor.shutdown()
        node.destroy_node()
