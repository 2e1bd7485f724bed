"""Gazebo twin: the xacro expands to a URDF; URDF + controllers.yaml agree with the contract."""
import ast
import math
from pathlib import Path
import xml.etree.ElementTree as ET

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
URDF = ROOT / 'urdf' / 'arm.urdf.xacro'
CONTROLLERS = ROOT / 'config' / 'controllers.yaml'


@pytest.fixture(scope='module')
def robot():
    xacro = pytest.importorskip('xacro', reason='pip install xacro (ROS xacro on PyPI)')
    doc = xacro.process_file(str(URDF), mappings={'controllers_file': str(CONTROLLERS)})
    return ET.fromstring(doc.toxml())


def test_joints_and_limits_equal_the_contract(robot, contract):
    joints = {j.get('name'): j for j in robot.findall('joint') if j.get('type') == 'revolute'}
    assert list(joints) == list(contract.action.joints)
    for name, lim in contract.limits.items():
        limit = joints[name].find('limit')
        assert float(limit.get('lower')) == pytest.approx(lim.lower)
        assert float(limit.get('upper')) == pytest.approx(lim.upper)
        assert float(limit.get('velocity')) == pytest.approx(lim.max_velocity)


def test_kinematics_match_the_mujoco_model(robot):
    from dil_ros.sim.task import LINK_LENGTHS, SHOULDER_HEIGHT
    joints = {j.get('name'): j for j in robot.findall('joint')}
    assert joints['shoulder_pan'].find('axis').get('xyz') == '0 0 1'
    assert joints['shoulder_lift'].find('axis').get('xyz') == '0 -1 0'
    assert float(joints['shoulder_pan'].find('origin').get('xyz').split()[2]) == SHOULDER_HEIGHT
    assert float(joints['elbow'].find('origin').get('xyz').split()[0]) == LINK_LENGTHS[0]
    assert float(joints['forearm_to_tool'].find('origin').get('xyz').split()[0]) == LINK_LENGTHS[1]


def test_ros2_control_block(robot, contract):
    (rc,) = robot.findall('ros2_control')
    assert rc.find('hardware/plugin').text == 'gz_ros2_control/GazeboSimSystem'
    joints = rc.findall('joint')
    assert [j.get('name') for j in joints] == list(contract.action.joints)
    from dil_ros.sim.task import ik, polar_to_xyz, ReachAroundTask
    t = ReachAroundTask()
    task_start = ik(*polar_to_xyz(t.start_theta, t.start_radius, t.tip_height))
    for j, q0 in zip(joints, task_start):
        lim = contract.limits[j.get('name')]
        cmd = j.findall('command_interface')
        assert [c.get('name') for c in cmd] == ['position']
        params = {p.get('name'): float(p.text) for p in cmd[0].findall('param')}
        assert params == pytest.approx({'min': lim.lower, 'max': lim.upper})
        states = [s.get('name') for s in j.findall('state_interface')]
        assert states == ['position', 'velocity']
        init = float(j.find("state_interface[@name='position']/param").text)
        assert init == pytest.approx(q0, abs=1e-3)
    plugin = robot.find('gazebo/plugin')
    assert plugin.get('filename') == 'gz_ros2_control-system'
    assert plugin.find('parameters').text == str(CONTROLLERS)


def test_inertias_are_positive(robot):
    for link in robot.findall('link'):
        inertial = link.find('inertial')
        if inertial is None:
            continue
        assert float(inertial.find('mass').get('value')) > 0
        i = inertial.find('inertia')
        assert all(float(i.get(k)) > 0 and math.isfinite(float(i.get(k)))
                   for k in ('ixx', 'iyy', 'izz'))


def test_controllers_yaml_agrees_with_the_contract(contract):
    cfg = yaml.safe_load(CONTROLLERS.read_text())
    cm = cfg['controller_manager']['ros__parameters']
    ctrl = contract.action.controller
    assert cm['joint_state_broadcaster']['type'] == 'joint_state_broadcaster/JointStateBroadcaster'
    assert cm[ctrl]['type'] == 'joint_trajectory_controller/JointTrajectoryController'
    jtc = cfg[ctrl]['ros__parameters']
    assert jtc['joints'] == list(contract.action.joints)
    assert jtc['command_interfaces'] == ['position']
    assert set(jtc['state_interfaces']) == {'position', 'velocity'}
    fwd = cfg['forward_position_controller']['ros__parameters']
    assert fwd['joints'] == list(contract.action.joints)
    assert cm['forward_position_controller']['type'] == (
        'position_controllers/JointGroupPositionController')


def test_gazebo_launch_names_the_controllers_it_spawns():
    """No Gazebo here: check the launch parses and spawns what controllers.yaml defines."""
    source = (ROOT / 'launch' / 'gazebo.launch.py').read_text()
    tree = ast.parse(source)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)}
    cm = yaml.safe_load(CONTROLLERS.read_text())['controller_manager']['ros__parameters']
    for name in ('joint_state_broadcaster', 'arm_controller', 'forward_position_controller'):
        assert name in strings and name in cm
    for needed in ('--param-file', '/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock', 'create',
                   'robot_state_publisher', 'use_sim_time', 'spawner', 'goal_node', 'goal.yaml'):
        assert needed in strings, needed
    assert "'goal_node = dil_ros.nodes.goal_node:main'" in (ROOT / 'setup.py').read_text()


def test_node_params_yaml_keyed_by_node_name():
    for node, path in (('sim_node', 'sim.yaml'), ('expert_node', 'expert.yaml'),
                       ('goal_node', 'goal.yaml')):
        cfg = yaml.safe_load((ROOT / 'config' / path).read_text())
        assert list(cfg) == [node] and 'ros__parameters' in cfg[node]


def test_sim_demo_launch_uses_registered_executables():
    """sim_demo.launch.py parses and starts console scripts that setup.py registers."""
    tree = ast.parse((ROOT / 'launch' / 'sim_demo.launch.py').read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)}
    setup = (ROOT / 'setup.py').read_text()
    for exe in ('sim_node', 'expert_node', 'recorder_node'):
        assert exe in strings
        assert f"'{exe} = dil_ros.nodes.{exe}:main'" in setup
    assert {'sim.yaml', 'expert.yaml', 'use_sim_time'} <= strings
