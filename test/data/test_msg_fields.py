"""msg_fields: the same extraction on rosbags-deserialised and rclpy messages."""
import numpy as np
import pytest

from dil_ros.contract import ObservationSpec
from dil_ros.data.msg_fields import extract, extract_action, FieldError, parse_path

STATE = ObservationSpec('observation.state', '/joint_states', 'sensor_msgs/msg/JointState',
                        joints=('a', 'b'), field='position')
GOAL = ObservationSpec('observation.goal', '/goal', 'geometry_msgs/msg/Point',
                       fields=('x', 'z'))


def test_parse_path():
    assert parse_path('points[0].positions[1]') == ('points', 0, 'positions', 1)
    with pytest.raises(FieldError, match='bad field path'):
        parse_path('data[x]')


def test_rosbags_messages(bags):
    js = bags.joint_state(0, ['b', 'extra', 'a'], [2.0, 9.0, 1.0])
    assert extract(js, STATE).tolist() == [1.0, 2.0]
    assert extract(bags.point(1, 2, 3), GOAL).tolist() == [1.0, 3.0]
    arr = bags.float64_array([1, 2, 3])
    spec = ObservationSpec('observation.x', '/x', 'std_msgs/msg/Float64MultiArray',
                           fields=('data[2]', 'data[0]', 'layout.data_offset'))
    assert extract(arr, spec).tolist() == [3.0, 1.0, 0.0]
    traj = bags.trajectory(0, ['b', 'a'], [5.0, 4.0])
    assert extract_action(traj, 'trajectory_msgs/msg/JointTrajectory', ['a', 'b']).tolist() \
        == [4.0, 5.0]
    assert extract_action(js, 'sensor_msgs/msg/JointState', ['a']).tolist() == [1.0]
    assert extract_action(arr, 'std_msgs/msg/Float64MultiArray', 'xyz').tolist() == [1, 2, 3]


def test_errors_name_topic_and_joint(bags):
    js = bags.joint_state(0, ['b'], [2.0])
    with pytest.raises(FieldError, match="/joint_states: joint 'a' missing"):
        extract(js, STATE)
    with pytest.raises(FieldError, match=r"/goal: field 'w' of 'w'"):
        extract(bags.point(1, 2, 3), ObservationSpec('observation.goal', '/goal',
                                                     'geometry_msgs/msg/Point', fields=('w',)))
    with pytest.raises(FieldError, match=r'/x: index 5'):
        extract(bags.float64_array([1.0]), ObservationSpec(
            'observation.x', '/x', 'std_msgs/msg/Float64MultiArray', fields=('data[5]',)))
    with pytest.raises(FieldError, match='/cmd: Float64MultiArray has 1 values'):
        extract_action(bags.float64_array([1.0]), 'std_msgs/msg/Float64MultiArray', ['a', 'b'],
                       topic='/cmd')


def test_rclpy_messages():
    sensor_msgs = pytest.importorskip('sensor_msgs.msg')
    geometry_msgs = pytest.importorskip('geometry_msgs.msg')
    trajectory_msgs = pytest.importorskip('trajectory_msgs.msg')
    std_msgs = pytest.importorskip('std_msgs.msg')
    js = sensor_msgs.JointState(name=['b', 'extra', 'a'], position=[2.0, 9.0, 1.0])
    assert extract(js, STATE).tolist() == [1.0, 2.0]
    assert extract(geometry_msgs.Point(x=1.0, y=2.0, z=3.0), GOAL).tolist() == [1.0, 3.0]
    traj = trajectory_msgs.JointTrajectory(
        joint_names=['b', 'a'], points=[trajectory_msgs.JointTrajectoryPoint(positions=[5., 4.])])
    assert extract_action(traj, 'trajectory_msgs/msg/JointTrajectory', ['a', 'b']).tolist() \
        == [4.0, 5.0]
    arr = std_msgs.Float64MultiArray(data=[1.0, 2.0])
    np.testing.assert_array_equal(
        extract_action(arr, 'std_msgs/msg/Float64MultiArray', ['a', 'b']), [1.0, 2.0])


def test_joint_state_without_names_reads_indices(bags):
    spec = ObservationSpec('observation.state', '/joint_states', 'sensor_msgs/msg/JointState',
                           joints=('a', 'b'), indices=(2, 0))
    unnamed = bags.joint_state(0, [], [1.0, 9.0, 2.0])
    assert extract(unnamed, spec).tolist() == [2.0, 1.0]
    # When the message names its joints, the names win over the indices.
    assert extract(bags.joint_state(0, ['b', 'x', 'a'], [2.0, 9.0, 1.0]), spec).tolist() \
        == [1.0, 2.0]
    with pytest.raises(FieldError, match=r'/joint_states: position has 2 values; the contract '
                                         r'reads indices \[2, 0\]'):
        extract(bags.joint_state(0, [], [1.0, 9.0]), spec)
    with pytest.raises(FieldError, match=r'/joint_states: JointState has no joint names; give '
                                         r"indices beside joints \['a', 'b'\]"):
        extract(unnamed, STATE)


def test_rclpy_joint_state_without_names():
    sensor_msgs = pytest.importorskip('sensor_msgs.msg')
    spec = ObservationSpec('observation.state', '/joint_states', 'sensor_msgs/msg/JointState',
                           joints=('a', 'b'), field='velocity', indices=(1, 0))
    js = sensor_msgs.JointState(position=[1.0, 2.0], velocity=[3.0, 4.0])
    assert extract(js, spec).tolist() == [4.0, 3.0]
