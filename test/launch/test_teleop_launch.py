"""launch/teleop.launch.py: sim in hand mode, teleop_node and one recorder_node, on sim time.

The launch runs as `ros2 launch` runs it (see conftest.py: installed package, skips elsewhere).
"""
import json

import pytest

NEEDS = 'needs the ROS launch packages (launch, launch_ros, launch_pytest, launch_testing_ros)'
launch_pytest = pytest.importorskip('launch_pytest', reason=NEEDS)
pytest.importorskip('launch_ros', reason=NEEDS)
launch_testing_ros = pytest.importorskip('launch_testing_ros', reason=NEEDS)
rclpy = pytest.importorskip('rclpy')
pytest.importorskip('pygame', reason='teleop_node needs pygame')
pytest.importorskip('mujoco', reason='sim_node needs mujoco')

from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from rcl_interfaces.srv import GetParameters  # noqa: E402
from std_msgs.msg import String  # noqa: E402

pytestmark = pytest.mark.ros


@launch_pytest.fixture
def teleop_launch(launch_dir, tmp_path_factory, exit_codes):
    return LaunchDescription([
        SetEnvironmentVariable('SDL_VIDEODRIVER', 'dummy'),  # the window without a display
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(launch_dir / 'teleop.launch.py')),
            launch_arguments={'output_dir': str(tmp_path_factory.mktemp('hand') / 'session'),
                              'view_rate_hz': '0.0'}.items()),
        exit_codes.handler,
    ])


def get_params(node, target, names):
    client = node.create_client(GetParameters, f'/{target}/get_parameters')
    assert client.wait_for_service(timeout_sec=20)
    future = client.call_async(GetParameters.Request(names=names))
    rclpy.spin_until_future_complete(node, future, timeout_sec=10)
    return [getattr(v, {1: 'bool_value', 3: 'double_value', 4: 'string_value'}[v.type])
            for v in future.result().values]


@pytest.mark.launch(fixture=teleop_launch)
def test_hand_mode_nodes_and_clocks(ros_context, exit_codes, graph_nodes):
    with launch_testing_ros.WaitForTopics([('/recorder_node/status', String),
                                           ('/task/status', String)], timeout=30.0) as topics:
        status = json.loads(topics.received_messages('/recorder_node/status')[-1].data)
    assert status['recording'] is False
    node = rclpy.create_node('teleop_launch_probe')
    try:
        assert graph_nodes(node, 3) == ['recorder_node', 'sim_node', 'teleop_node']  # no expert
        assert get_params(node, 'sim_node', ['auto_reset', 'time_limit']) == [False, 0.0]
        for target in ('teleop_node', 'recorder_node'):
            assert get_params(node, target, ['use_sim_time']) == [True]
        assert get_params(node, 'teleop_node', ['sim_reset']) == ['/sim_node/reset']
    finally:
        node.destroy_node()
    yield
    assert exit_codes.by_node() == {'sim_node': 0, 'teleop_node': 0, 'recorder_node': 0}
