"""Launch tests start the launch files as `ros2 launch` does, on dil_ros installed the ROS way.

They need launch, launch_ros, launch_pytest and launch_testing_ros (ROS packages, not on PyPI) and
dil_ros in an ament index (`colcon build`, then `source install/setup.bash`): the launch files
find the nodes' executables and the params YAML files there. Elsewhere they skip, saying why.
"""
import asyncio
import filecmp
from pathlib import Path
import time
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_INSTALLED = ('dil_ros is not installed the ROS way: no share/dil_ros in the ament index '
                 '(AMENT_PREFIX_PATH); colcon build, then source install/setup.bash')


@pytest.fixture(scope='session')
def launch_dir() -> Path:
    """share/dil_ros/launch of the installed package; skips where there is none."""
    packages = pytest.importorskip('ament_index_python.packages',
                                   reason='ament_index_python is not installed')
    try:
        share = Path(packages.get_package_share_directory('dil_ros'))
    except (packages.PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        pytest.skip(NOT_INSTALLED)
    installed = share / 'launch'
    stale = [p.name for p in sorted((ROOT / 'launch').glob('*.launch.py'))
             if not (installed / p.name).is_file()
             or not filecmp.cmp(p, installed / p.name, shallow=False)]
    if stale:
        pytest.fail(f'{installed} differs from the source tree in {stale}: build again')
    return installed


def node_names(node, expected: int, timeout: float = 10.0) -> List[str]:
    """Sorted ``*_node`` names on the graph once discovery has found ``expected`` (or timeout).

    A probe node created a moment ago has not discovered the launched nodes yet.
    """
    import rclpy
    deadline = time.monotonic() + timeout
    while True:
        names = sorted(n for n, _ in node.get_node_names_and_namespaces() if n.endswith('_node'))
        if len(names) >= expected or time.monotonic() > deadline:
            return names
        rclpy.spin_once(node, timeout_sec=0.1)


@pytest.fixture
def graph_nodes():
    """:func:`node_names`, for tests that look at which nodes a launch brought up."""
    return node_names


class ExitCodes:
    """Records every process's exit code during a launch (``handler`` goes into the launch)."""

    def __init__(self):
        from launch.actions import RegisterEventHandler
        from launch.event_handlers import OnProcessExit
        self.codes: Dict[str, int] = {}
        self.handler = RegisterEventHandler(OnProcessExit(on_exit=self._on_exit))

    def _on_exit(self, event, context):
        self.codes[event.action.name] = event.returncode

    def by_node(self) -> Dict[str, int]:
        """{'sim_node': 0, ...}: process names without launch's '-<n>' suffix."""
        return {name.rsplit('-', 1)[0]: code for name, code in self.codes.items()}


@pytest.fixture
def exit_codes() -> ExitCodes:
    return ExitCodes()


@pytest.fixture
def run_launch(launch_dir):
    """``run_launch('x.launch.py', {'arg': 'value'}, timeout)``: the launch's return code, as
    `ros2 launch` would exit, or None when it was still running after ``timeout`` seconds (it is
    then shut down)."""
    from launch import LaunchDescription, LaunchService
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    def run(name: str, arguments: Dict[str, str], timeout: float) -> Optional[int]:
        service = LaunchService()
        service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(launch_dir / name)),
            launch_arguments=arguments.items())]))
        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(service.run_async())
            loop.run_until_complete(asyncio.wait([task], timeout=timeout))
            if task.done():
                return task.result()
            service.shutdown(force_sync=True)
            loop.run_until_complete(task)
            return None
        finally:
            loop.close()
    return run
