"""Helpers for recording tests: serialized messages as rclpy makes them (padding included)."""
import pytest


@pytest.fixture(scope='module')
def make_msgs():
    """topic -> (type, [serialized bytes]) built with rclpy.serialization (the padding trap)."""
    serialization = pytest.importorskip('rclpy.serialization')
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import Float64MultiArray, String

    def build(n=20):
        out = {
            '/joint_states': ('sensor_msgs/msg/JointState', []),
            '/arm_controller/commands': ('std_msgs/msg/Float64MultiArray', []),
            '/camera/image': ('sensor_msgs/msg/Image', []),
            '/note': ('std_msgs/msg/String', []),
        }
        for i in range(n):
            js = JointState(name=['a'], position=[float(i)])  # empty velocity/effort: padded
            out['/joint_states'][1].append(serialization.serialize_message(js))
            out['/arm_controller/commands'][1].append(
                serialization.serialize_message(Float64MultiArray(data=[i, 2.0 * i])))
            img = Image(height=4, width=5, encoding='rgb8', step=15, data=bytes([i % 256] * 60))
            out['/camera/image'][1].append(serialization.serialize_message(img))
            out['/note'][1].append(serialization.serialize_message(String(data='x' * (i % 5))))
        return out
    return build
