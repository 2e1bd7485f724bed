"""CDR normalisation: rclpy's serialized bytes must decode with rosbags once stored."""
import pytest
from rosbags.typesys import get_typestore, Stores

from dil_ros.recording.cdr import TypeRegistry, UnknownTypeError


def test_serialize_message_padding_is_trimmed(make_msgs):
    store = get_typestore(Stores.ROS2_KILTED)
    reg = TypeRegistry()
    msgs = make_msgs(5)
    padded = msgs['/joint_states'][1][0]
    with pytest.raises(Exception, match='size mismatch'):
        store.deserialize_cdr(padded, 'sensor_msgs/msg/JointState')  # the trap, as found
    for topic, (msgtype, datas) in msgs.items():
        for data in datas:
            fixed = reg.normalise(data, msgtype)
            assert len(fixed) <= len(data)
            store.deserialize_cdr(fixed, msgtype)
    exact = reg.normalise(padded, 'sensor_msgs/msg/JointState')
    assert reg.normalise(exact, 'sensor_msgs/msg/JointState') is exact  # no copy when exact


def test_garbage_and_unknown_types_are_reported():
    reg = TypeRegistry()
    with pytest.raises(ValueError, match='does not decode|encapsulation'):
        reg.normalise(b'\x00\x01\x00\x00\x05', 'sensor_msgs/msg/JointState')
    with pytest.raises(UnknownTypeError, match='no_such_pkg/msg/Nope'):
        reg.definition('no_such_pkg/msg/Nope')


def test_type_from_definition_text():
    reg = TypeRegistry()
    reg.ensure('my_pkg/msg/Pair', 'float64 a\nint32 b\n')
    msgdef, rihs = reg.definition('my_pkg/msg/Pair')
    assert 'float64 a' in msgdef and rihs.startswith('RIHS01_')
