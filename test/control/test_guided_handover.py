"""handover guided: the prefix and weights the controller hands the sampler with each request."""
import numpy as np
import pytest

from dil_ros.control.controller import ControlConfig, PolicyController
from dil_ros.control.guided_handover import plan_guide, soft_mask
from dil_ros.control.scheduler import ActionChunk, ChunkScheduler

STATE, GOAL = 'observation.state', 'observation.environment_state'


def ramp(t0, dt=0.1, horizon=16, to=2, slope=1.0):
    i = np.arange(horizon) - (to - 1)
    return ActionChunk(t0, dt, (slope * (t0 + i * dt))[:, None] * np.ones((1, 3)), to)


def test_rtc_weights_freeze_until_arrival_then_decay_to_the_end_of_the_chunk_in_force():
    sched = ChunkScheduler(8, 'guided', fade_s=0.0)
    sched.add(ramp(1.0), now=1.0, current=None)          # covers 1.0 .. 2.4
    prefix, weight = plan_guide(sched, t0=1.7, dt=0.1, n_obs_steps=2, horizon=16, arrival=2.0,
                                hold_s=0.0)
    times = 1.7 + (np.arange(16) - 1) * 0.1
    assert np.all(weight[times <= 2.0 + 1e-9] == 1.0)    # runs before the chunk arrives
    soft = (times > 2.0 + 1e-9) & (times <= 2.4 + 1e-9)
    assert np.all(np.diff(weight[soft]) < 0) and np.all((weight[soft] > 0) | (times[soft] > 2.39))
    assert np.all(weight[times > 2.4 + 1e-9] == 0.0)     # nothing to agree with there
    covered = times <= 2.4 + 1e-9
    np.testing.assert_allclose(prefix[covered, 0], times[covered])   # the plan in force
    assert soft_mask(np.array(1.0)) == pytest.approx(1.0) and soft_mask(np.array(0.0)) == 0.0


def test_hold_keeps_the_overlap_frozen_then_decays_over_soft_s():
    sched = ChunkScheduler(8, 'guided', fade_s=0.0)
    sched.add(ramp(1.0), now=1.0, current=None)          # covers 1.0 .. 2.4
    times = 1.7 + (np.arange(16) - 1) * 0.1
    _, whole = plan_guide(sched, 1.7, 0.1, 2, 16, arrival=2.0)      # the default: hold all
    np.testing.assert_array_equal(whole, (times <= 2.4 + 1e-9).astype(float))
    _, part = plan_guide(sched, 1.7, 0.1, 2, 16, arrival=2.0, hold_s=0.1, soft_s=0.2)
    assert np.all(part[times <= 2.1 + 1e-9] == 1.0)      # held 0.1 s past arrival
    assert 0.0 < part[np.isclose(times, 2.2)][0] < 1.0    # decays until 2.3
    assert np.all(part[times >= 2.3 - 1e-9] == 0.0)      # then free, though the chunk runs on


def test_hold_below_holds_only_while_the_chunk_in_force_has_run_briefly():
    sched = ChunkScheduler(8, 'guided', fade_s=0.0)
    sched.add(ramp(1.0), now=1.3, current=None)          # arrived at 1.3, covers .. 2.4
    times = 1.7 + (np.arange(16) - 1) * 0.1
    overlap = (times > 2.0 + 1e-9) & (times <= 2.4 + 1e-9)
    _, brief = plan_guide(sched, 1.7, 0.1, 2, 16, arrival=2.0, hold_below_s=0.5)   # ran 0.4 s
    assert np.all(brief[overlap] == 1.0)
    _, ran = plan_guide(sched, 1.7, 0.1, 2, 16, arrival=2.0, hold_below_s=0.3)     # ran 0.4 s
    assert np.all(ran[overlap] < 1.0) and ran[times <= 2.0 + 1e-9].min() == 1.0   # RTC's


def test_no_chunk_in_force_means_no_guide():
    assert plan_guide(ChunkScheduler(8, 'guided'), 1.0, 0.1, 2, 16, 1.2) is None


def test_controller_sends_the_guide_with_the_second_request(contract):
    ctl = PolicyController(contract, ControlConfig(rate_hz=100.0, handover='guided'),
                           stamped_keys=[STATE])
    ctl.set_active(True)
    ctl.set_enabled(True)
    ctl.observe(STATE, int(1e9), (0.1, 0.2, 0.3))
    ctl.observe(GOAL, int(1e9), (0.0, 0.0, 0.0))
    first = ctl.tick(1.0).request
    assert first.prefix is None                          # nothing in force yet
    i = np.arange(contract.horizon) - (contract.n_obs_steps - 1)
    ctl.on_result(first, 0.1 + 0.05 * i[:, None] * np.ones((1, 3)), now=1.05)
    t = 1.05
    while True:
        t += 0.01
        ctl.observe(STATE, int(t * 1e9), (0.1, 0.2, 0.3))
        ctl.observe(GOAL, int(t * 1e9), (0.0, 0.0, 0.0))
        req = ctl.tick(t).request
        if req is not None:
            break
    assert req.prefix.shape == (contract.horizon, 3) and req.prefix_weight.shape == (16,)
    assert req.prefix_weight[0] == 1.0 and req.prefix_weight[-1] == 0.0
