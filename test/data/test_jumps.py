"""Frames where the recorded action and the measured state disagree (a reset or a blocked joint
inside an episode) are reported, one line per episode naming the frames and the joint, and the
episode is split there (default), dropped or kept."""
import numpy as np
import pytest

from dil_ros.cli.main import main
from dil_ros.contract import contract_from_mapping
from dil_ros.data.convert import convert_bags, ConvertOptions
from dil_ros.data.episode import Episode
from dil_ros.data.jumps import find_jumps, split_at, state_error_bounds
from dil_ros.data.lerobot import read_dataset

JS, F64 = 'sensor_msgs/msg/JointState', 'std_msgs/msg/Float64MultiArray'
NAMES = ['shoulder_pan', 'shoulder_lift', 'elbow']


def tracking(bags, t0_ns, seconds=4.0, reset_at=None, blocked_from=None):
    """Commands a slow sine the arm follows 50 ms late; at ``reset_at`` the arm is teleported
    back to 0 (a sim reset) while the command goes on; from ``blocked_from`` the elbow stops."""
    msgs = []
    for k in range(int(seconds * 50) + 1):
        t = k / 50
        q = 1.6 * np.sin(0.5 * (t - 0.05)) * np.ones(3)
        if reset_at is not None and reset_at <= t < reset_at + 0.5:
            q = np.zeros(3)
        if blocked_from is not None and t >= blocked_from:
            q[2] = 1.6 * np.sin(0.5 * (blocked_from - 0.05))
        t_ns = t0_ns + round(t * 1e9)
        msgs.append(('/joint_states', JS, t_ns, bags.joint_state(t_ns, NAMES, q)))
        msgs.append(('/task/goal', 'geometry_msgs/msg/Point', t_ns, bags.point(0.3, 0, 0)))
        msgs.append(('/arm_controller/commands', F64, t_ns,
                     bags.float64_array(1.6 * np.sin(0.5 * t) * np.ones(3))))
    return msgs


def test_default_bounds_from_velocity_limits_or_the_contract(contract):
    assert state_error_bounds(contract) == {j: 1.0 for j in NAMES}  # 2 rad/s * 0.5 s
    mapping = contract.to_mapping()
    mapping['action']['max_state_error'] = 0.2
    assert state_error_bounds(contract_from_mapping(mapping)) == {j: 0.2 for j in NAMES}
    assert state_error_bounds(contract_from_mapping(mapping), 0.3) == {j: 0.3 for j in NAMES}


def test_split_keeps_the_runs_between_flagged_frames(contract):
    state = np.zeros((10, 3))
    action = np.zeros((10, 3))
    action[[3, 4, 8], 1] = 2.0
    ep = Episode({'observation.state': state, 'observation.environment_state': state}, action,
                 np.arange(10) / 10, metadata={'source': 'x'})
    jumps = find_jumps(ep, contract, state_error_bounds(contract))
    assert jumps.frames.tolist() == [i in (3, 4, 8) for i in range(10)]
    assert jumps.describe(ep.timestamps) == (
        'action and measured state disagree in 3 of 10 frames (0.3-0.4 s, 0.8-0.8 s): '
        'shoulder_lift off by 2.000 (bound 1.000) at 0.3 s')
    parts = split_at(ep, jumps.frames)
    assert [len(p) for p in parts] == [3, 3]  # frames 0-2 and 5-7; frame 9 alone is too short
    assert [p.metadata['split_from_frame'] for p in parts] == [0, 5]
    np.testing.assert_allclose(parts[1].timestamps, [0.0, 0.1, 0.2])
    assert find_jumps(ep, contract, {j: 2.5 for j in NAMES}) is None


@pytest.mark.parametrize('on_jump, lengths', [('split', [21, 15]), ('keep', [41]), ('drop', [])])
def test_a_reset_inside_an_episode(tmp_path, bags, arm, contract, on_jump, lengths):
    bag = bags.write(tmp_path / 'bag', tracking(bags, arm.t0_ns, reset_at=2.1))
    report = convert_bags([bag], contract, tmp_path / 'ds', ConvertOptions(on_jump=on_jump),
                          progress=False)
    line = ('action and measured state disagree in 5 of 41 frames (2.1-2.5 s): shoulder_pan off '
            'by 1.518 (bound 1.000) at 2.5 s, shoulder_lift off by 1.518 (bound 1.000) at 2.5 s, '
            'elbow off by 1.518 (bound 1.000) at 2.5 s')
    assert [len(ep) for r in report.results for ep in r.episodes] == lengths
    summary = report.summary()
    if on_jump == 'drop':
        assert f'skipped: {bag}: {line} (--on-jump drop)' in summary
        assert not (tmp_path / 'ds').exists()
    else:
        assert f'warning: {bag}: {line}' in summary
        assert [len(e) for e in read_dataset(tmp_path / 'ds').episodes] == lengths


def test_a_blocked_joint_is_named(tmp_path, bags, arm, contract, contract_path, capsys):
    bag = bags.write(tmp_path / 'bag', tracking(bags, arm.t0_ns, blocked_from=1.0))
    rc = main(['convert', str(bag), '--contract', str(contract_path), '--out',
               str(tmp_path / 'ds'), '--quiet', '--max-state-error', '0.3'])
    out = capsys.readouterr().out
    assert rc == 0
    assert ('disagree in 26 of 41 frames (1.5-4.0 s): elbow off by 0.868 (bound 0.300) at 3.1 s'
            in out)
    assert 'shoulder' not in out
    assert 'split into 1 episode (15 frames)' in out
    eps = read_dataset(tmp_path / 'ds').episodes
    assert [len(ep) for ep in eps] == [15]  # cut where the elbow fell behind by 0.3


def test_a_tracking_recording_is_untouched(tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', tracking(bags, arm.t0_ns))
    report = convert_bags([bag], contract, tmp_path / 'ds', progress=False)
    assert [len(ep) for ep in report.results[0].episodes] == [41]
    assert report.results[0].warnings == []
