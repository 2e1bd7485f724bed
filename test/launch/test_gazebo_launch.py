"""launch/gazebo.launch.py without Gazebo: it writes the task's world and starts goal_node.

gz sim, ros_gz and gz_ros2_control are not here, so nothing is started: the launch description is
loaded from the installed package and its world step is run as launch would run it.
"""
from pathlib import Path
import xml.etree.ElementTree as ET

import pytest

NEEDS = 'needs the ROS launch packages (launch, launch_ros)'
launch = pytest.importorskip('launch', reason=NEEDS)
pytest.importorskip('launch_ros', reason=NEEDS)

from launch.actions import IncludeLaunchDescription, OpaqueFunction  # noqa: E402
from launch.launch_description_sources import (  # noqa: E402
    get_launch_description_from_python_launch_file)
from launch.logging import launch_config  # noqa: E402
from launch.utilities import (  # noqa: E402
    normalize_to_list_of_substitutions as substitutions, perform_substitutions)
from launch_ros.actions import Node  # noqa: E402

from dil_ros.sim.task import ReachAroundTask  # noqa: E402


@pytest.fixture
def description(launch_dir):
    return get_launch_description_from_python_launch_file(str(launch_dir / 'gazebo.launch.py'))


@pytest.fixture
def world_file():
    """Where the launch writes the world: this launch's log folder (removed after the test)."""
    path = Path(launch_config.log_dir) / 'dil_arm_world.sdf'
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


def gz_args_for(description, **arguments):
    """Run the launch's world step with these launch arguments; gz sim's gz_args."""
    context = launch.LaunchContext()
    context.launch_configurations.update({'gz_args': '-r -v 1', 'world': '', **arguments})
    (step,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    (include,) = step.execute(context)
    assert isinstance(include, IncludeLaunchDescription)
    args = {perform_substitutions(context, substitutions(k)):
            perform_substitutions(context, substitutions(v))
            for k, v in include.launch_arguments}
    return args['gz_args']


def test_gz_sim_runs_the_tasks_world_written_at_launch(description, world_file):
    assert gz_args_for(description) == f'-r -v 1 {world_file}'
    models = {m.get('name'): m for m in ET.parse(world_file).getroot().iter('model')}
    task = ReachAroundTask()
    pose = [float(v) for v in models['pillar'].find('pose').text.split()]
    assert pose[:3] == pytest.approx([*task.obstacle_xy, task.obstacle_height / 2], abs=1e-6)
    assert {'goal', 'goal_region'} <= set(models)


def test_a_given_world_is_used_as_is(description, world_file):
    assert gz_args_for(description, world='/worlds/lab.sdf', gz_args='-s') == '-s /worlds/lab.sdf'
    assert not world_file.exists()


def test_goal_node_and_the_gazebo_chain_are_started(description):
    executables = {e.node_executable for e in description.entities if isinstance(e, Node)}
    assert {'goal_node', 'robot_state_publisher', 'create', 'parameter_bridge'} <= executables
