"""launch/policy.launch.py: autostart brings policy_node to active; commands reach a fake robot.

The launch runs as `ros2 launch` runs it (see conftest.py: installed package, skips elsewhere);
after shutdown policy_node has exited cleanly. A policy that cannot load fails the launch.
"""
from pathlib import Path
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
from lifecycle_msgs.msg import State  # noqa: E402
from lifecycle_msgs.srv import GetState  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64, Float64MultiArray  # noqa: E402

pytestmark = pytest.mark.ros
NODES_TESTS = Path(__file__).resolve().parents[1] / 'nodes'


@pytest.fixture(scope='module')
def policy_file(tmp_path_factory, contract):
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(NODES_TESTS))  # the policy node tests' tiny artifacts
        from policy_artifacts import offset_artifact
    return str(offset_artifact(tmp_path_factory.mktemp('launch') / 'policy.ts', contract))


@launch_pytest.fixture
def policy_launch(launch_dir, policy_file, exit_codes):
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(launch_dir / 'policy.launch.py')),
            launch_arguments={'policy_path': policy_file, 'start_enabled': 'true'}.items()),
        exit_codes.handler,
    ])


def fake_robot(node):
    """Joint states and the goal at 100 Hz, as sim_node sends them."""
    js = node.create_publisher(JointState, '/joint_states', 10)
    goal = node.create_publisher(Point, '/task/goal', 10)

    def publish_state():
        msg = JointState(name=['elbow', 'shoulder_pan', 'shoulder_lift'],
                         position=[1.0, 0.5, -0.5])
        msg.header.stamp = node.get_clock().now().to_msg()
        js.publish(msg)
        goal.publish(Point())

    node.create_timer(0.01, publish_state)


@pytest.mark.launch(fixture=policy_launch)
def test_active_and_commanding(ros_context, exit_codes):
    node = rclpy.create_node('policy_launch_fake_robot')
    fake_robot(node)
    # joint order of the contract: pan, lift, elbow, plus the policy's offsets
    target = [0.51, -0.48, 1.03]
    commands = []
    got = threading.Event()

    def on_command(msg):
        commands.append(list(msg.data))
        if list(msg.data) == pytest.approx(target, abs=1e-3):
            got.set()

    node.create_subscription(Float64MultiArray, '/arm_controller/commands', on_command, 10)
    get_state = node.create_client(GetState, '/policy_node/get_state')
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        assert got.wait(timeout=30.0), f'no command reached {target} within 30 s: ' + (
            f'last {commands[-1]}' if commands else 'none on /arm_controller/commands')
        assert get_state.wait_for_service(timeout_sec=10.0)
        state = get_state.call(GetState.Request(), timeout_sec=10.0)
        assert state.current_state.id == State.PRIMARY_STATE_ACTIVE
        with launch_testing_ros.WaitForTopics(
                [('/policy_node/inference_latency_ms', Float64)], timeout=10.0):
            pass
    finally:
        executor.shutdown()
        thread.join(timeout=5.0)
        node.destroy_node()
    yield
    assert exit_codes.by_node() == {'policy_node': 0}


def test_a_policy_that_cannot_load_fails_the_launch(run_launch, tmp_path):
    """configure fails (no such file): the node holds, and the launch exits 1 saying so."""
    assert run_launch('policy.launch.py', {'policy_path': str(tmp_path / 'missing.ts')},
                      timeout=60.0) == 1
