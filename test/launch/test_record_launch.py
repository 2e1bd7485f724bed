"""launch/record.launch.py: recorder_node and teleop_node come up; the recorder records.

The launch runs as `ros2 launch` runs it (see conftest.py: installed package, skips elsewhere);
after shutdown both nodes have exited cleanly. A node dying at start fails the launch.
"""
import json
import time

import pytest

NEEDS = 'needs the ROS launch packages (launch, launch_ros, launch_pytest, launch_testing_ros)'
launch_pytest = pytest.importorskip('launch_pytest', reason=NEEDS)
pytest.importorskip('launch_ros', reason=NEEDS)
launch_testing_ros = pytest.importorskip('launch_testing_ros', reason=NEEDS)
rclpy = pytest.importorskip('rclpy')
pytest.importorskip('pygame', reason='teleop_node needs pygame')

from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def output_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('record_launch') / 'session'


@launch_pytest.fixture
def record_launch(launch_dir, output_dir, exit_codes):
    return LaunchDescription([
        SetEnvironmentVariable('SDL_VIDEODRIVER', 'dummy'),  # keyboard teleop without a display
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(launch_dir / 'record.launch.py')),
            launch_arguments={'output_dir': str(output_dir), 'teleop': 'true',
                              'device': 'keyboard'}.items()),
        exit_codes.handler,
    ])


@pytest.mark.launch(fixture=record_launch)
def test_status_and_services(ros_context, output_dir, exit_codes, graph_nodes):
    with launch_testing_ros.WaitForTopics([('/recorder_node/status', String)],
                                          timeout=30.0) as topics:
        status = json.loads(topics.received_messages('/recorder_node/status')[-1].data)
    assert isinstance(status, dict), status
    node = rclpy.create_node('record_launch_probe')
    try:
        for name, ok in (('start', True), ('start', False), ('stop', True)):
            client = node.create_client(Trigger, f'/recorder_node/{name}')
            assert client.wait_for_service(timeout_sec=20)
            future = client.call_async(Trigger.Request())
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            assert future.result().success is ok, future.result().message
        deadline = time.time() + 5
        while time.time() < deadline and not (output_dir / 'episodes.json').exists():
            time.sleep(0.1)
        assert (output_dir / 'episode_0000' / 'metadata.yaml').exists()
        assert graph_nodes(node, 2) == ['recorder_node', 'teleop_node']
    finally:
        node.destroy_node()
    yield
    assert exit_codes.by_node() == {'recorder_node': 0, 'teleop_node': 0}


def test_a_node_dying_at_start_fails_the_launch(run_launch, tmp_path):
    """A contract file that does not exist: recorder_node exits at start, the launch exits 1."""
    assert run_launch('record.launch.py', {'contract': str(tmp_path / 'missing.yaml'),
                                           'output_dir': str(tmp_path / 'session')},
                      timeout=60.0) == 1
