import numpy as np
import pytest

from dil_ros.contract import ContractError, JointLimit
from dil_ros.control.limits import CommandLimiter


def test_clamps_position_and_step():
    lim = CommandLimiter(['a', 'b'], {'a': JointLimit(-1, 1, 2.0), 'b': JointLimit(-1, 1, 0.5)})
    out = lim.clamp(np.array([5.0, 0.5]), np.array([0.9, 0.0]), 0.1)
    np.testing.assert_allclose(out, [1.0, 0.05])
    np.testing.assert_allclose(lim.clamp(np.array([-5.0, -5]), None, 0.1), [-1, -1])


def test_a_joint_without_limits_is_refused():
    with pytest.raises(ContractError, match=r"limits: no limits for commanded joints \['free'\]"):
        CommandLimiter(['a', 'free'], {'a': JointLimit(-1, 1, 2.0)})


def test_sequence_is_clamped_point_by_point():
    lim = CommandLimiter(['a'], {'a': JointLimit(-10, 10, 1.0)})
    out = lim.clamp_sequence(np.array([[1.0], [2.0], [3.0]]), np.array([0.0]), [0.1, 0.1, 0.1])
    np.testing.assert_allclose(out[:, 0], [0.1, 0.2, 0.3])
