"""PositionGuard: the teleop target stays within the limits, the speed and the lead."""
import numpy as np
import pytest

from dil_ros.teleop.safety import PositionGuard


def guard(max_lead=0.15):
    return PositionGuard(lower=[-1.0, -1.0], upper=[1.0, 1.0], max_velocity=[2.0, 2.0],
                         max_lead=max_lead)


def test_starts_from_the_measured_position():
    g = guard()
    assert g.step([1.0, 0.0], 0.02, [0.3, -0.2]).tolist() == [0.3, -0.2]
    assert g.step([1.0, 0.0], 0.02, [0.3, -0.2]) == pytest.approx([0.32, -0.2])


def test_speed_is_capped_at_max_velocity():
    g = guard(max_lead=1.0)
    g.anchor([0.0, 0.0])
    target = g.step([50.0, -50.0], 0.02, [0.0, 0.0])
    assert target == pytest.approx([0.04, -0.04])


def test_lead_is_bounded_against_a_blocked_joint():
    g = guard()
    g.anchor([0.0, 0.0])
    for _ in range(200):
        target = g.step([2.0, 0.0], 0.02, [0.0, 0.0])
    assert target == pytest.approx([0.15, 0.0])


def test_target_follows_a_reset_arm_instead_of_dragging_it_back():
    g = guard()
    g.anchor([0.9, 0.9])
    target = g.step([2.0, 0.0], 0.02, [-0.5, 0.1])  # the robot was reset under us
    assert target == pytest.approx([-0.5, 0.1])
    assert g.drifted([0.9, 0.9]) and not g.drifted([-0.5, 0.1])


def test_limits_and_bad_lead():
    g = guard(max_lead=1.0)
    g.anchor([0.99, 0.0])
    assert g.step([2.0, 0.0], 0.1, [0.99, 0.0])[0] == 1.0
    assert np.all(g.anchor([5.0, -5.0]) == [1.0, -1.0])
    with pytest.raises(ValueError, match='max_lead'):
        guard(max_lead=0.0)
