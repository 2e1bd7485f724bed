"""The Gazebo (gz sim) world of the reach-around task, generated from the task's geometry.

launch/gazebo.launch.py writes it when it starts, so the pillar and the goal sit where
``ReachAroundTask`` (sim/task.py) and the MuJoCo model (assets/arm.xml) have them. The world holds
what the MuJoCo model holds besides the arm (urdf/arm.urdf.xacro, spawned at the origin):

- ``ground_plane``: seen, not touched (MuJoCo's floor does not collide either);
- ``pillar``: static cylinder that the arm collides with;
- ``goal``: the goal marker (radius = success tolerance) at the centre of the goal region;
- ``goal_region``: a flat disc holding every goal the task samples (goal_node publishes the goal
  of each episode on /task/goal);

plus the gz systems the launch needs (physics, user commands for ros_gz_sim ``create``, scene
broadcaster for the GUI). Pure standard library + task.py: no Gazebo needed to build or test it.
"""
from pathlib import Path
from typing import Optional, Sequence, Union
import xml.etree.ElementTree as ET

from dil_ros.atomic import atomic_file
from dil_ros.sim.task import ReachAroundTask

WORLD_NAME = 'dil_arm'
SDF_VERSION = '1.9'
SYSTEMS = (
    ('gz-sim-physics-system', 'gz::sim::systems::Physics'),
    ('gz-sim-user-commands-system', 'gz::sim::systems::UserCommands'),
    ('gz-sim-scene-broadcaster-system', 'gz::sim::systems::SceneBroadcaster'),
)
GOAL_REGION_THICKNESS = 0.002  # m: a flat disc at the goal height


def _text(parent: ET.Element, tag: str, value) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = value if isinstance(value, str) else ' '.join(f'{v:g}' for v in value)
    return element


def _geometry(parent: ET.Element, shape: str, **sizes: float) -> None:
    geometry = ET.SubElement(ET.SubElement(parent, 'geometry'), shape)
    for key, value in sizes.items():
        _text(geometry, key, f'{value:g}')


def _static_model(world: ET.Element, name: str, xyz: Sequence[float], shape: str,
                  rgba: Sequence[float], collide: bool, **sizes: float) -> None:
    model = ET.SubElement(world, 'model', name=name)
    _text(model, 'static', 'true')
    _text(model, 'pose', tuple(xyz) + (0.0, 0.0, 0.0))
    link = ET.SubElement(model, 'link', name='link')
    if collide:
        _geometry(ET.SubElement(link, 'collision', name='collision'), shape, **sizes)
    visual = ET.SubElement(link, 'visual', name='visual')
    _geometry(visual, shape, **sizes)
    material = ET.SubElement(visual, 'material')
    _text(material, 'ambient', rgba)
    _text(material, 'diffuse', rgba)
    if rgba[3] < 1.0:
        _text(visual, 'transparency', f'{1.0 - rgba[3]:g}')


def world_sdf(task: Optional[ReachAroundTask] = None, name: str = WORLD_NAME) -> str:
    """The SDF world of ``task`` (default: the task sim_node runs) as a string."""
    task = task or ReachAroundTask()
    sdf = ET.Element('sdf', version=SDF_VERSION)
    world = ET.SubElement(sdf, 'world', name=name)
    physics = ET.SubElement(world, 'physics', name='1ms', type='ignored')
    _text(physics, 'max_step_size', '0.001')
    _text(physics, 'real_time_factor', '1.0')
    for filename, system in SYSTEMS:
        ET.SubElement(world, 'plugin', filename=filename, name=system)
    sun = ET.SubElement(world, 'light', type='directional', name='sun')
    _text(sun, 'cast_shadows', 'true')
    _text(sun, 'pose', (0, 0, 10, 0, 0, 0))
    _text(sun, 'diffuse', (0.8, 0.8, 0.8, 1))
    _text(sun, 'direction', (-0.5, 0.1, -0.9))

    ground = ET.SubElement(world, 'model', name='ground_plane')
    _text(ground, 'static', 'true')
    visual = ET.SubElement(ET.SubElement(ground, 'link', name='link'), 'visual', name='visual')
    plane = ET.SubElement(ET.SubElement(visual, 'geometry'), 'plane')
    _text(plane, 'normal', (0, 0, 1))
    _text(plane, 'size', (4, 4))

    x, y = task.obstacle_xy
    _static_model(world, 'pillar', (x, y, task.obstacle_height / 2), 'cylinder',
                  (0.8, 0.2, 0.2, 1.0), collide=True, radius=task.obstacle_radius,
                  length=task.obstacle_height)
    gx, gy, gz = task.nominal_goal
    _static_model(world, 'goal', (gx, gy, gz), 'sphere', (0.1, 0.8, 0.1, 0.6), collide=False,
                  radius=task.tolerance)
    _static_model(world, 'goal_region', (gx, gy, gz), 'cylinder',
                  (0.1, 0.8, 0.1, 0.3), collide=False, radius=task.goal_region_radius,
                  length=GOAL_REGION_THICKNESS)
    ET.indent(sdf)
    return '<?xml version="1.0"?>\n' + ET.tostring(sdf, encoding='unicode') + '\n'


def write_world(path: Union[str, Path], task: Optional[ReachAroundTask] = None) -> Path:
    """Write the world to ``path`` (whole or not at all) and return the path."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(world_sdf(task))
    return path
