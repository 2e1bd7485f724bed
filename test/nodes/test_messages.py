import numpy as np

from dil_ros.nodes import messages


def test_trajectory_times_are_exact_durations():
    msg = messages.trajectory(['a', 'b'], np.array([0.1, 0.9999999999, 1.5]),
                              np.array([[1, 2], [3, 4], [5, 6]]))
    assert msg.joint_names == ['a', 'b'] and msg.header.stamp.sec == 0
    t = [(p.time_from_start.sec, p.time_from_start.nanosec) for p in msg.points]
    assert t == [(0, 100_000_000), (1, 0), (1, 500_000_000)]


def test_twist_maps_named_axes_or_vx_wz():
    msg = messages.twist(['angular.z', 'linear.x'], np.array([0.3, 0.5]))
    assert (msg.linear.x, msg.angular.z) == (0.5, 0.3)
    msg = messages.twist(['v', 'w'], np.array([0.5, 0.3]))
    assert (msg.linear.x, msg.angular.z) == (0.5, 0.3)


def test_stamp_falls_back_to_receive_time():
    from geometry_msgs.msg import Point
    from sensor_msgs.msg import JointState
    js = JointState()
    assert messages.stamp_ns(js, 5) == 5
    js.header.stamp.sec, js.header.stamp.nanosec = 1_733_000_000, 123_456_789
    assert messages.stamp_ns(js, 5) == 1_733_000_000_123_456_789    # exact, no float rounding
    assert messages.stamp_ns(Point(), 7) == 7
