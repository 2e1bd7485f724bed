"""Scripted expert: >= 95 % success, both modes, and the mean of the modes hits the pillar."""
import numpy as np
import pytest

pytest.importorskip('mujoco')

from dil_ros.sim.arm_sim import ArmSim  # noqa: E402
from dil_ros.sim.expert import INNER, OUTER, ScriptedExpert  # noqa: E402
from dil_ros.sim.task import COLLISION, SUCCESS  # noqa: E402

RATE = 10.0  # the contract's policy rate: the expert must work at it


def rollout(sim, command, rate=RATE):
    t = 0.0
    while not sim.done:
        sim.command_positions(command(t))
        sim.run_for(1.0 / rate)
        t += 1.0 / rate
    return sim.status


def test_success_rate_and_both_modes():
    sim, expert = ArmSim(), ScriptedExpert(seed=123)
    results, sides = [], []
    for seed in range(40):
        ep = sim.reset(seed)
        plan = expert.plan(sim.positions, ep.goal)
        results.append(rollout(sim, plan))
        sides.append(plan.side)
    assert results.count(SUCCESS) / len(results) >= 0.95, results
    assert sides.count(INNER) >= 8 and sides.count(OUTER) >= 8, sides


def test_average_of_the_two_modes_hits_the_pillar():
    """What an MSE regressor learns from both modes (their mean) fails: the task is multimodal."""
    sim, expert = ArmSim(), ScriptedExpert(seed=0, joint_noise=0.0)
    for seed in range(5):
        ep = sim.reset(seed)
        q0 = sim.positions
        inner, outer = expert.plan(q0, ep.goal, INNER), expert.plan(q0, ep.goal, OUTER)
        assert rollout(sim, lambda t: (inner(t) + outer(t)) / 2) == COLLISION


def test_plan_is_reproducible_and_ends_at_goal():
    sim = ArmSim()
    ep = sim.reset(3)
    a = ScriptedExpert(seed=9).plan(sim.positions, ep.goal)
    b = ScriptedExpert(seed=9).plan(sim.positions, ep.goal)
    assert a.side == b.side and a.duration == b.duration
    assert np.array_equal(a(1.0), b(1.0))
    from dil_ros.sim.task import fk
    assert np.allclose(fk(a(a.duration)), ep.goal, atol=1e-6)
    assert np.allclose(a(0.0), sim.positions)
    with pytest.raises(ValueError):
        ScriptedExpert().plan(sim.positions, ep.goal, 'over')
