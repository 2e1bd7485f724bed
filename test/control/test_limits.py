import numpy as np

from dil_ros.control.limits import CommandLimiter
from dil_ros.contract import JointLimit


def test_clamps_position_and_step():
    lim = CommandLimiter(['a', 'b', 'free'], {'a': JointLimit(-1, 1, 2.0),
                                              'b': JointLimit(-1, 1, 0.5)})
    out = lim.clamp(np.array([5.0, 0.5, 100.0]), np.array([0.9, 0.0, 0.0]), 0.1)
    np.testing.assert_allclose(out, [1.0, 0.05, 100.0])
    np.testing.assert_allclose(lim.clamp(np.array([-5.0, -5, 3]), None, 0.1), [-1, -1, 3])


def test_sequence_is_clamped_point_by_point():
    lim = CommandLimiter(['a'], {'a': JointLimit(-10, 10, 1.0)})
    out = lim.clamp_sequence(np.array([[1.0], [2.0], [3.0]]), np.array([0.0]), [0.1, 0.1, 0.1])
    np.testing.assert_allclose(out[:, 0], [0.1, 0.2, 0.3])
