"""The recorder's extra_topics entries are checked before any type is imported."""
import pytest

from dil_ros.recording.topics import ExtraTopicError, parse_extra_topics

CONTRACT = {'/joint_states': 'sensor_msgs/msg/JointState'}


def test_entries_split_into_typed_and_pending():
    extra = parse_extra_topics(['', '/camera/image:sensor_msgs/msg/Image', '/note', '~/debug',
                                '/joint_states', '/joint_states:sensor_msgs/msg/JointState'],
                               CONTRACT)
    assert extra.typed == {'/camera/image': 'sensor_msgs/msg/Image'}
    assert extra.pending == ['/note', '~/debug']
    assert extra.entries['/note'] == "extra_topics[2] '/note'"


@pytest.mark.parametrize('entry, problem', [
    ('/x:os/path/join', "message type 'os/path/join' is not 'pkg/msg/Type'"),
    ('/x:sensor_msgs/Image', "message type 'sensor_msgs/Image' is not 'pkg/msg/Type'"),
    ('/x:sensor_msgs/msg/Image/x', "is not 'pkg/msg/Type'"),
    ('/x:../msg/Image', "is not 'pkg/msg/Type'"),
    ('/x:', "message type '' is not 'pkg/msg/Type'"),
    ('/x y:std_msgs/msg/String', "'/x y' is not a ROS topic name"),
    (':std_msgs/msg/String', "'' is not a ROS topic name"),
    ('/joint_states:std_msgs/msg/String',
     'the contract records /joint_states as sensor_msgs/msg/JointState'),
])
def test_malformed_entries_are_named(entry, problem):
    with pytest.raises(ExtraTopicError) as info:
        parse_extra_topics(['/ok', entry], CONTRACT)
    assert str(info.value).startswith(f'extra_topics[1] {entry!r}: ')
    assert problem in str(info.value)


def test_a_topic_listed_twice():
    with pytest.raises(ExtraTopicError, match=r"extra_topics\[1\] '/a': /a is listed twice"):
        parse_extra_topics(['/a:std_msgs/msg/String', '/a'], CONTRACT)
