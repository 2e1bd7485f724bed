"""record.launch.py brings up recorder_node (and teleop_node) whose services answer."""
import os
import shutil
import time
from pathlib import Path

import pytest

launch_pytest = pytest.importorskip('launch_pytest')
pytest.importorskip('launch_ros')
rclpy = pytest.importorskip('rclpy')

from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

pytestmark = pytest.mark.ros
LAUNCH = Path(__file__).resolve().parents[2] / 'launch' / 'record.launch.py'
OUTPUT = Path('/tmp') / f'dil_ros_record_launch_{os.getpid()}'


@launch_pytest.fixture
def record_launch():
    shutil.rmtree(OUTPUT, ignore_errors=True)
    return LaunchDescription([
        SetEnvironmentVariable('SDL_VIDEODRIVER', 'dummy'),  # keyboard teleop without a display
        IncludeLaunchDescription(PythonLaunchDescriptionSource(str(LAUNCH)), launch_arguments={
            'output_dir': str(OUTPUT), 'teleop': 'true', 'device': 'keyboard'}.items()),
        launch_pytest.actions.ReadyToTest(),
    ])


@pytest.mark.launch(fixture=record_launch)
def test_services_answer(ros_context):
    from std_srvs.srv import Trigger
    node = rclpy.create_node('record_launch_probe')
    try:
        for name, ok in (('start', True), ('start', False), ('stop', True)):
            client = node.create_client(Trigger, f'/recorder_node/{name}')
            assert client.wait_for_service(timeout_sec=20)
            future = client.call_async(Trigger.Request())
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            assert future.result().success is ok, future.result().message
        deadline = time.time() + 5
        while time.time() < deadline and not (OUTPUT / 'episodes.json').exists():
            time.sleep(0.1)
        assert (OUTPUT / 'episode_0000' / 'metadata.yaml').exists()
        names = {n for n, _ in node.get_node_names_and_namespaces()}
        assert {'recorder_node', 'teleop_node'} <= names
    finally:
        node.destroy_node()
