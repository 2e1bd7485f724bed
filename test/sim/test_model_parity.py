"""MuJoCo model, Gazebo URDF and Gazebo world agree with the task's geometry (sim/task.py).

Pillar position/radius/height, goal marker and region, arm base, link lengths and radii, joint
axes and limits: a policy trained in one simulator meets the same scene in the other.
"""
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dil_ros.sim.gazebo_world import world_sdf
from dil_ros.sim.task import (BASE_RADIUS, JOINT_NAMES, LINK_LENGTHS, LINK_RADII, ReachAroundTask,
                              SHOULDER_HEIGHT, TIP_RADIUS)

mujoco = pytest.importorskip('mujoco')
ROOT = Path(__file__).resolve().parents[2]
TASK = ReachAroundTask()


@pytest.fixture(scope='module')
def mj():
    from dil_ros.sim.arm_sim import default_model_path
    return mujoco.MjModel.from_xml_path(str(default_model_path()))


@pytest.fixture(scope='module')
def urdf():
    xacro = pytest.importorskip('xacro', reason='pip install xacro (ROS xacro on PyPI)')
    doc = xacro.process_file(str(ROOT / 'urdf' / 'arm.urdf.xacro'),
                             mappings={'controllers_file': 'controllers.yaml'})
    return ET.fromstring(doc.toxml())


@pytest.fixture(scope='module')
def world():
    return {m.get('name'): m for m in ET.fromstring(world_sdf()).iter('model')}


def floats(text):
    return [float(v) for v in text.split()]


def urdf_shape(robot, link, part='visual'):
    (element,) = robot.find(f"link[@name='{link}']/{part}/geometry")
    origin = robot.find(f"link[@name='{link}']/{part}/origin")
    xyz = floats(origin.get('xyz')) if origin is not None else [0.0, 0.0, 0.0]
    return element.tag, {k: float(v) for k, v in element.attrib.items()}, xyz


def test_mujoco_pillar_and_goal_are_the_tasks(mj):
    obstacle = mj.geom('obstacle')
    assert obstacle.type[0] == mujoco.mjtGeom.mjGEOM_CYLINDER
    assert obstacle.pos == pytest.approx([*TASK.obstacle_xy, TASK.obstacle_height / 2])
    assert obstacle.size[:2] == pytest.approx([TASK.obstacle_radius, TASK.obstacle_height / 2])
    goal = mj.site('goal')
    assert goal.pos == pytest.approx(TASK.nominal_goal, abs=1e-4)
    assert goal.size[0] == pytest.approx(TASK.tolerance)


def test_gazebo_world_matches_the_mujoco_scene(mj, world):
    pillar = world['pillar']
    obstacle = mj.geom('obstacle')
    assert floats(pillar.find('pose').text)[:3] == pytest.approx(obstacle.pos, abs=1e-6)
    cylinder = pillar.find('link/collision/geometry/cylinder')
    assert float(cylinder.find('radius').text) == pytest.approx(obstacle.size[0], abs=1e-6)
    assert float(cylinder.find('length').text) == pytest.approx(2 * obstacle.size[1], abs=1e-6)
    goal = world['goal']
    assert floats(goal.find('pose').text)[:3] == pytest.approx(mj.site('goal').pos, abs=1e-4)
    radius = float(goal.find('link/visual/geometry/sphere/radius').text)
    assert radius == pytest.approx(mj.site('goal').size[0], abs=1e-6)
    # MuJoCo's floor collides with nothing: the Gazebo ground is only seen.
    floor = mj.geom('floor')
    assert floor.contype[0] == 0 and floor.conaffinity[0] == 0
    assert world['ground_plane'].find('link/collision') is None


def test_mujoco_arm_is_the_tasks(mj):
    base = mj.geom('base')
    assert base.pos == pytest.approx([0, 0, SHOULDER_HEIGHT / 2])
    assert base.size[:2] == pytest.approx([BASE_RADIUS, SHOULDER_HEIGHT / 2])
    assert mj.body('turret').pos == pytest.approx([0, 0, SHOULDER_HEIGHT])
    assert mj.body('forearm').pos == pytest.approx([LINK_LENGTHS[0], 0, 0])
    assert mj.site('ee').pos == pytest.approx([LINK_LENGTHS[1], 0, 0])
    for name, length, radius in zip(('upper_arm', 'forearm'), LINK_LENGTHS, LINK_RADII):
        geom = mj.geom(name)
        assert geom.type[0] == mujoco.mjtGeom.mjGEOM_CAPSULE
        assert geom.size[:2] == pytest.approx([radius, length / 2])
        assert geom.pos == pytest.approx([length / 2, 0, 0])
    assert mj.geom('tip').size[0] == pytest.approx(TIP_RADIUS)


def test_urdf_arm_is_the_tasks(urdf):
    joints = {j.get('name'): j for j in urdf.findall('joint')}
    assert floats(joints['world_to_base'].find('origin').get('xyz')) == [0, 0, 0]
    kind, size, xyz = urdf_shape(urdf, 'base_link')
    assert (kind, size, xyz) == ('cylinder', {'radius': BASE_RADIUS, 'length': SHOULDER_HEIGHT},
                                 [0, 0, SHOULDER_HEIGHT / 2])
    assert urdf_shape(urdf, 'base_link', 'collision') == (kind, size, xyz)
    for link, length, radius in zip(('upper_arm', 'forearm'), LINK_LENGTHS, LINK_RADII):
        for part in ('visual', 'collision'):
            assert urdf_shape(urdf, link, part) == (
                'cylinder', {'radius': radius, 'length': length}, [length / 2, 0, 0])
    assert urdf_shape(urdf, 'tool', 'collision')[:2] == ('sphere', {'radius': TIP_RADIUS})


def test_urdf_joints_equal_the_mujoco_joints(mj, urdf):
    joints = {j.get('name'): j for j in urdf.findall('joint') if j.get('type') == 'revolute'}
    assert list(joints) == list(JOINT_NAMES)
    for name in JOINT_NAMES:
        limit = joints[name].find('limit')
        urdf_range = [float(limit.get('lower')), float(limit.get('upper'))]
        assert urdf_range == pytest.approx(mj.joint(name).range)
        assert urdf_range == pytest.approx(mj.actuator(name).ctrlrange)
        axis = np.array(floats(joints[name].find('axis').get('xyz')))
        assert axis == pytest.approx(mj.joint(name).axis)
