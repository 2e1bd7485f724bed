"""Bags stamped by two clocks (sim time next to wall time) are refused with one line naming the
topics, where their stamps come from, and which use_sim_time to set."""
import numpy as np
import pytest

from dil_ros.cli.main import main
from dil_ros.data.bag_reader import BagError
from dil_ros.data.clocks import clock_of, SIM, WALL
from dil_ros.data.convert import bag_to_episode

SIM_START_NS = 12_000_000_000  # the sim had run 12 s when recording started


def restamp(bags, msgs, topic, shift_ns):
    """``topic``'s header stamps moved by ``shift_ns``; the bag's receive times stay."""
    out = []
    for t, ty, t_ns, msg in msgs:
        if t == topic:
            msg.header = bags.header(t_ns + shift_ns)
        out.append((t, ty, t_ns, msg))
    return out


def test_clock_of_a_stamp():
    assert clock_of(0) == clock_of(3 * 10**9) == clock_of(10**18 - 1) == SIM
    assert clock_of(10**18) == clock_of(1_700_000_000 * 10**9) == WALL


def test_sim_stamped_joint_states_in_a_wall_clock_recording(tmp_path, bags, arm, contract,
                                                            capsys):
    """record.launch.py with use_sim_time:=false while the sim stamps /joint_states in sim time:
    the recorder's receive times (goal, commands) are wall time."""
    msgs = restamp(bags, arm.messages(), '/joint_states', SIM_START_NS - arm.t0_ns)
    bag = bags.write(tmp_path / 'mixed', msgs)
    with pytest.raises(BagError) as err:
        bag_to_episode(bag, contract)
    assert str(err.value) == (
        f'{bag}: stamps from two clocks: /joint_states (header stamps, 12.000 s to 15.000 s) on '
        'sim time; /task/goal (receive times, 2023-11-14T22:13:20Z to 2023-11-14T22:13:23Z), '
        '/arm_controller/commands (receive times, 2023-11-14T22:13:20Z to 2023-11-14T22:13:23Z) '
        'on wall time: the recorder ran on wall time: record with use_sim_time:=true (launch '
        'argument or recorder_node parameter), or run the publishers of /joint_states with '
        'use_sim_time:=false')
    rc = main(['convert', str(bag), '--out', str(tmp_path / 'ds'), '--quiet'])
    out = capsys.readouterr().out
    assert rc == 1 and not (tmp_path / 'ds').exists()
    assert f'skipped: {bag}: stamps from two clocks: /joint_states' in out
    assert 'overlap in time' not in out


def test_a_wall_stamping_publisher_in_a_sim_time_recording(tmp_path, bags, arm, contract):
    """The recorder ran with use_sim_time:=true; a driver without it stamps in wall time."""
    sim = [(t, ty, t_ns - arm.t0_ns + SIM_START_NS, msg) for t, ty, t_ns, msg in arm.messages()]
    msgs = restamp(bags, sim, '/joint_states', arm.t0_ns - SIM_START_NS)
    with pytest.raises(BagError, match='the recorder ran on sim time: record with '
                                       r'use_sim_time:=false .*, or run the publishers of '
                                       '/joint_states with use_sim_time:=true$'):
        bag_to_episode(bags.write(tmp_path / 'mixed', msgs), contract)


def test_one_topic_on_two_clocks(tmp_path, bags, arm, contract):
    """Some header stamps zero (receive time, wall) and the others sim time, on one topic."""
    msgs = restamp(bags, arm.messages(), '/joint_states', SIM_START_NS - arm.t0_ns)
    for i, (t, _, t_ns, msg) in enumerate(msgs):
        if t == '/joint_states' and t_ns - arm.t0_ns > 2 * 10**9:
            msg.header = bags.header(0)
    with pytest.raises(BagError, match=r'topic /joint_states: stamps from two clocks \(sim time '
                                       r'at 12.000 s, wall time at 2023-11-14T22:13:23Z\)'):
        bag_to_episode(bags.write(tmp_path / 'mixed', msgs), contract)


def test_one_clock_converts_whichever_it_is(tmp_path, bags, arm, contract):
    """All on sim time (recorder and sim with use_sim_time) converts like all on wall time."""
    sim = [(t, ty, t_ns - arm.t0_ns + SIM_START_NS, msg) for t, ty, t_ns, msg in arm.messages()]
    sim = restamp(bags, sim, '/joint_states', 0)  # header stamps = the sim's receive times
    ep, warnings, _ = bag_to_episode(bags.write(tmp_path / 'sim', sim), contract)
    wall, _, _ = bag_to_episode(bags.write(tmp_path / 'wall', arm.messages()), contract)
    assert warnings == [] and ep.metadata['start_time_ns'] == SIM_START_NS
    np.testing.assert_array_equal(ep.action, wall.action)
    for key, value in wall.observations.items():
        np.testing.assert_array_equal(ep.observations[key], value)
