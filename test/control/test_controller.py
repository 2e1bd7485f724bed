import numpy as np
import pytest

from dil_ros.contract import contract_from_mapping
from dil_ros.control.controller import ControlConfig, PolicyController

STATE, GOAL = 'observation.state', 'observation.environment_state'


@pytest.fixture
def ctl(contract):
    c = PolicyController(contract, ControlConfig(rate_hz=100.0, observation_timeout_s=0.5),
                         stamped_keys=[STATE])
    c.set_active(True)
    c.set_enabled(True)
    return c


def ns(t):
    return round(t * 1e9)


def feed(ctl, t, q=(0.1, 0.2, 0.3)):
    ctl.observe(STATE, ns(t), q)
    ctl.observe(GOAL, ns(t), [0.0, 0.0, 0.0])


def chunk(contract, q=(0.1, 0.2, 0.3), slope=0.0):
    i = np.arange(contract.horizon) - (contract.n_obs_steps - 1)
    return np.asarray(q)[None, :] + slope * contract.dt * i[:, None]


def test_holds_until_observations_then_asks_for_a_chunk(ctl, contract):
    tick = ctl.tick(1.0)
    assert tick.holding and 'waiting for observations' in tick.reason
    feed(ctl, 1.0)
    tick = ctl.tick(1.01)
    assert not tick.holding and tick.request is not None
    assert tick.request.obs[STATE].shape == (contract.n_obs_steps, 3)
    assert tick.request.stamp == 1.0
    np.testing.assert_allclose(tick.command, [0.1, 0.2, 0.3])  # holds where the arm is
    assert ctl.tick(1.02).request is None                     # one inference at a time


def test_executes_chunk_and_requests_next_in_time(ctl, contract):
    feed(ctl, 1.0)
    req = ctl.tick(1.0).request
    ctl.latencies.clear()
    assert ctl.on_result(req, chunk(contract, slope=0.5), now=1.05, wall_latency_s=0.05) is None
    tick = ctl.tick(1.05)
    assert tick.new_chunk
    assert tick.command[0] == pytest.approx(0.1)              # continues from the hold
    assert ctl.tick(1.3).command[0] == pytest.approx(0.1 + 0.5 * 0.3)
    feed(ctl, 1.5)
    due = 1.0 + contract.n_action_steps * contract.dt
    lead = ctl.latency_estimate() + ctl.config.inference_lead_s
    assert ctl.tick(due - lead - 0.02).request is None
    assert ctl.tick(due - lead + 0.001).request is not None


def test_stale_observations_hold_and_resume(ctl, contract):
    feed(ctl, 1.0)
    ctl.on_result(ctl.tick(1.0).request, chunk(contract, slope=0.5), 1.05)
    moving = ctl.tick(1.2).command
    tick = ctl.tick(1.6)
    assert tick.holding and 'stale' in tick.reason and tick.entered_hold
    np.testing.assert_allclose(tick.command, moving)
    assert not ctl.tick(1.61).entered_hold
    level, state, values = ctl.status(1.6)
    assert level == 2 and 'stale' in state
    feed(ctl, 1.7)
    tick = ctl.tick(1.7)
    assert not tick.holding and tick.request is not None
    np.testing.assert_allclose(tick.command, moving)


def test_nan_observation_faults_until_good_data(ctl):
    feed(ctl, 1.0)
    level, text = ctl.observe(STATE, ns(1.01), [np.nan, 0, 0])
    assert level == 'error' and 'non-finite' in text
    assert ctl.observe(STATE, ns(1.02), [np.nan, 0, 0]) is None   # logged once
    assert ctl.tick(1.02).holding
    assert 'non-finite' in ctl.status(1.02)[2]['last error']
    feed(ctl, 1.03)
    assert not ctl.tick(1.03).holding


def test_out_of_order_is_counted_and_warned(ctl):
    feed(ctl, 1.0)
    level, text = ctl.observe(STATE, ns(0.9), [0, 0, 0])
    assert level == 'warn' and 'out-of-order' in text
    assert ctl.status(1.0)[2]['dropped observations'] == '1'
    assert not ctl.tick(1.0).holding


def test_non_finite_chunk_is_rejected_and_holds(ctl, contract):
    feed(ctl, 1.0)
    req = ctl.tick(1.0).request
    bad = chunk(contract)
    bad[3, 1] = np.inf
    level, text = ctl.on_result(req, bad, 1.05)
    assert level == 'error' and 'non-finite' in text
    tick = ctl.tick(1.06)
    np.testing.assert_allclose(tick.command, [0.1, 0.2, 0.3])
    assert tick.request is None
    assert ctl.on_result(req, bad, 1.05) is None             # logged once
    feed(ctl, 1.1)
    assert ctl.tick(1.16).request is not None                # tries again at the policy rate


def test_estop_latches_until_reset(ctl, contract):
    feed(ctl, 1.0)
    ctl.trigger_estop()
    assert 'e-stop' in ctl.tick(1.0).reason
    feed(ctl, 1.1)
    assert 'e-stop' in ctl.tick(1.1).reason
    ctl.reset()
    assert 'waiting for observations' in ctl.tick(1.2).reason
    feed(ctl, 1.2)
    assert not ctl.tick(1.2).holding


def test_results_from_before_a_hold_are_discarded(ctl, contract):
    feed(ctl, 1.0)
    req = ctl.tick(1.0).request
    ctl.set_enabled(False)
    ctl.tick(1.01)
    ctl.set_enabled(True)
    assert ctl.on_result(req, chunk(contract, slope=1.0), 1.05) is None
    assert ctl.scheduler.newest is None


def test_disabled_sends_the_hold_once(ctl, contract):
    feed(ctl, 1.0)
    ctl.on_result(ctl.tick(1.0).request, chunk(contract, slope=0.5), 1.0)
    ctl.tick(1.1)
    ctl.set_enabled(False)
    first, second = ctl.tick(1.11), ctl.tick(1.12)
    assert first.command is not None and second.command is None


def test_commands_are_clamped_to_limits(ctl, contract):
    feed(ctl, 1.0, q=(2.5, 0.0, 0.0))
    ctl.on_result(ctl.tick(1.0).request, chunk(contract, q=(9.0, 0.0, 0.0)), 1.0)
    cmds = [ctl.tick(1.0 + 0.01 * k).command[0] for k in range(1, 40)]
    assert max(cmds) <= contract.limits['shoulder_pan'].upper
    assert np.max(np.abs(np.diff(cmds))) <= 2.0 * 0.01 + 1e-9


def test_trajectory_points_follow_now_strictly_increasing(ctl, contract):
    feed(ctl, 1.0)
    ctl.on_result(ctl.tick(1.0).request, chunk(contract, slope=0.5), 1.03)
    ctl.tick(1.03)
    times, points = ctl.trajectory(1.03)
    assert times[0] > 0 and np.all(np.diff(times) > 0)
    assert points.shape == (len(times), 3)
    assert times[0] == pytest.approx(0.07)


def test_reset_forgets_the_old_command_and_holds_the_measured_position(ctl, contract):
    """After a reset (e.g. the robot was moved by hand or the sim reset) nothing drives the arm
    back to where the previous episode left it: holds and new chunks start from the new state."""
    feed(ctl, 1.0, q=(1.0, 1.0, 1.0))
    ctl.on_result(ctl.tick(1.0).request, chunk(contract, q=(1.0, 1.0, 1.0)), 1.05)
    np.testing.assert_allclose(ctl.tick(1.1).command, [1.0, 1.0, 1.0])
    ctl.reset()
    assert ctl.tick(2.0).command is None          # nothing known to be safe yet: send nothing
    feed(ctl, 2.0, q=(-0.5, 0.2, 0.3))
    tick = ctl.tick(2.01)
    np.testing.assert_allclose(tick.command, [-0.5, 0.2, 0.3])
    ctl.on_result(tick.request, chunk(contract, q=(-0.5, 0.2, 0.3)), 2.05)
    np.testing.assert_allclose(ctl.tick(2.06).command, [-0.5, 0.2, 0.3], atol=1e-9)


def test_a_silent_headerless_topic_goes_stale_by_receive_time(ctl, contract):
    """The goal (a headerless Point) is stamped on receipt and must keep arriving."""
    feed(ctl, 1.0)
    assert not ctl.tick(1.0).holding
    for t in np.arange(1.1, 1.75, 0.1):       # joint states keep coming, the goal does not
        ctl.observe(STATE, ns(t), (0.1, 0.2, 0.3))
    tick = ctl.tick(1.7)
    assert tick.holding and tick.entered_hold
    assert tick.reason == ('stale observations: observation.environment_state (/task/goal): '
                           'none newer than observation_timeout_s 0.5 s')
    np.testing.assert_allclose(tick.command, [0.1, 0.2, 0.3])
    assert ctl.status(1.7)[0] == 2
    ctl.observe(GOAL, ns(1.71), [0.0, 0.0, 0.0])
    assert not ctl.tick(1.71).holding


def test_holds_at_the_measured_state_joints(contract):
    """Commands name q1..q3, /joint_states names q0..q2: hold at the measured q0..q2."""
    mapping = contract.to_mapping()
    mapping['observations'][STATE]['joints'] = ['q0', 'q1', 'q2']
    mapping['action'].update(joints=['q1', 'q2', 'q3'], state_joints=['q0', 'q1', 'q2'])
    mapping['limits'] = {j: {'lower': -3.0, 'upper': 3.0, 'max_velocity': 2.0}
                         for j in ('q1', 'q2', 'q3')}
    c = PolicyController(contract_from_mapping(mapping), ControlConfig(), stamped_keys=[STATE])
    c.set_active(True)
    c.set_enabled(True)
    feed(c, 1.0, q=(0.4, 0.5, 0.6))
    tick = c.tick(1.0)
    assert tick.request is not None
    np.testing.assert_allclose(tick.command, [0.4, 0.5, 0.6])   # measured q0, q1, q2
    c.trigger_estop()
    np.testing.assert_allclose(c.tick(1.01).command, [0.4, 0.5, 0.6])


def test_the_robot_contracts_limits_clamp_commands(contract):
    """Limits come from the robot's contract given to the controller, not from the policy."""
    mapping = contract.to_mapping()
    mapping['limits']['elbow'] = {'lower': -0.25, 'upper': 0.25, 'max_velocity': 2.0}
    c = PolicyController(contract_from_mapping(mapping), ControlConfig(), stamped_keys=[STATE])
    c.set_active(True)
    c.set_enabled(True)
    feed(c, 1.0)
    req = c.tick(1.0).request
    c.on_result(req, chunk(contract, q=(0.1, 0.2, 0.9)), 1.0)
    np.testing.assert_allclose(c.tick(1.0).command, [0.1, 0.2, 0.25])


def test_a_latched_key_goes_stale_by_its_contract_max_age(contract):
    """A goal published once (max_age_s: .inf) never goes stale; a bound of 1 s holds after 1 s,
    as the converter carried it in training; other keys keep observation_timeout_s."""
    for age, stale_at in ((float('inf'), None), (1.0, 2.05)):
        mapping = contract.to_mapping()
        mapping['observations'][GOAL]['max_age_s'] = age if age < float('inf') else 'inf'
        c = PolicyController(contract_from_mapping(mapping), ControlConfig(),
                             stamped_keys=[STATE])
        c.set_active(True)
        c.set_enabled(True)
        feed(c, 1.0)
        for t in np.round(np.arange(1.1, 3.05, 0.1), 6):  # states keep coming, the goal does not
            c.observe(STATE, ns(t), (0.1, 0.2, 0.3))
            reason = c.hold_reason(t)
            if stale_at is None or t < stale_at:
                assert reason is None, (age, t, reason)
            else:
                assert reason == ('stale observations: observation.environment_state '
                                  '(/task/goal): none newer than max_age_s 1.0 s'), t
