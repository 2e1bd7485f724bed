"""Slow and latched observations: their last value is carried to the end of the episode within
the contract's max_age_s (or --max-staleness), instead of ending the episode at their last
message; the action is never carried."""
import numpy as np
import pytest

from dil_ros.cli.main import main
from dil_ros.contract import contract_from_mapping
from dil_ros.data.bag_reader import BagError
from dil_ros.data.convert import bag_to_episode, ConvertOptions
from dil_ros.data.lerobot import read_dataset

GOAL = 'observation.environment_state'


def goal_once(bags, arm, at_s=0.0):
    """3 s of traffic with the goal published once, at ``at_s`` (a latched goal)."""
    msgs = [m for m in arm.messages() if m[0] != '/task/goal']
    t_ns = arm.t0_ns + round(at_s * 1e9)
    return msgs + [('/task/goal', 'geometry_msgs/msg/Point', t_ns, bags.point(0.3, -0.1, 0.7))]


def latched(contract, age='inf'):
    mapping = contract.to_mapping()
    mapping['observations'][GOAL]['max_age_s'] = age
    return contract_from_mapping(mapping)


def test_a_goal_published_once_lasts_the_whole_episode(tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', goal_once(bags, arm))
    assert len(bag_to_episode(bag, contract)[0]) == 6  # carried 0.5 s, as for a stream
    ep, warnings, _ = bag_to_episode(bag, latched(contract))
    assert len(ep) == 31 and warnings == []
    np.testing.assert_allclose(ep.observations[GOAL], np.tile([0.3, -0.1, 0.7], (31, 1)))
    np.testing.assert_allclose(ep.action, arm.ramp(ep.timestamps) * 2, atol=1e-5)


def test_a_bounded_max_age_ends_the_episode_that_long_after_the_last_message(
        tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', goal_once(bags, arm, at_s=0.0))
    ep, warnings, _ = bag_to_episode(bag, latched(contract, 1.25))
    assert len(ep) == 13  # 0 .. 1.2 s: the goal is carried 1.25 s, not further
    assert warnings == ['topic /task/goal (observation.environment_state): last message at '
                        't = 0.000 s, its value carried 1.200 s to the end (bound 1.25 s)']


def test_a_stream_that_stops_early_is_carried_max_staleness(tmp_path, bags, arm, contract):
    """The goal stream stops at 2.0 s; the others go on to 3.0 s."""
    msgs = [m for m in arm.messages() if m[0] != '/task/goal' or m[2] <= arm.t0_ns + 2 * 10**9]
    bag = bags.write(tmp_path / 'bag', msgs)
    assert len(bag_to_episode(bag, contract)[0]) == 26  # default 0.5 s: ends at 2.5 s
    ep, warnings, _ = bag_to_episode(bag, contract, ConvertOptions(max_staleness_s=5.0))
    assert len(ep) == 31
    np.testing.assert_allclose(ep.observations[GOAL][20:, 2], 2.0)
    assert [w for w in warnings if 'carried 1.000 s to the end (bound 5 s)' in w]


def test_a_late_latched_goal_still_starts_the_episode(tmp_path, bags, arm, contract):
    """Carrying is causal: frames before an observation's first message are not made up."""
    bag = bags.write(tmp_path / 'bag', goal_once(bags, arm, at_s=1.0))
    ep, _, _ = bag_to_episode(bag, latched(contract))
    assert len(ep) == 21 and ep.metadata['start_time_ns'] == arm.t0_ns + 10**9


def test_nothing_overlaps(tmp_path, bags, arm, contract):
    msgs = [m for m in arm.messages() if m[0] != '/arm_controller/commands'
            or m[2] < arm.t0_ns + 10**8]
    with pytest.raises(BagError, match='overlap in time for less than one grid period'):
        bag_to_episode(bags.write(tmp_path / 'bag', msgs), contract)


def test_the_action_is_never_carried(tmp_path, bags, arm, contract):
    msgs = [m for m in arm.messages() if m[0] != '/arm_controller/commands'
            or m[2] <= arm.t0_ns + 2 * 10**9]
    ep, _, _ = bag_to_episode(bags.write(tmp_path / 'bag', msgs), contract,
                              ConvertOptions(max_staleness_s=5.0))
    assert len(ep) == 21  # ends at the last command (2.0 s)


def test_cli_max_staleness(tmp_path, bags, arm, contract_path, capsys):
    bag = bags.write(tmp_path / 'bag', goal_once(bags, arm, at_s=0.0))
    args = ['convert', str(bag), '--contract', str(contract_path), '--quiet', '--on-jump', 'keep']
    assert main(args + ['--out', str(tmp_path / 'a'), '--max-staleness', '0.55']) == 0
    assert [len(e) for e in read_dataset(tmp_path / 'a').episodes] == [6]
    assert main(args + ['--out', str(tmp_path / 'b'), '--max-staleness', '0']) == 1
    assert '--max-staleness must be > 0, got 0.0' in capsys.readouterr().err


def test_the_default_bound_is_the_policy_nodes():
    """Training carries a stream's last value as long as the node accepts it by default."""
    import yaml

    from dil_ros.control.controller import ControlConfig
    from dil_ros.training.config import config_dir
    node = yaml.safe_load((config_dir() / 'policy.yaml').read_text())
    assert ConvertOptions().max_staleness_s == ControlConfig().observation_timeout_s == \
        node['policy_node']['ros__parameters']['observation_timeout_s']
