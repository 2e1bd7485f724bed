"""dil-ros convert: rosbag2 (MCAP, sqlite3, split, any teleop type) -> dataset; bad bags."""
import shutil

import numpy as np
import pytest
import yaml

from dil_ros.cli.main import main
from dil_ros.contract import contract_from_mapping, ContractError
from dil_ros.data.bag_reader import BagError
from dil_ros.data.convert import bag_to_episode, convert_bags, ConvertOptions
from dil_ros.data.lerobot import read_dataset


def check_episode(ep, arm, linear=False):
    """Episode values == the signals that were recorded, on the 10 Hz grid."""
    t = ep.timestamps
    np.testing.assert_allclose(np.diff(t), 0.1, atol=1e-6)
    tol = 1e-5
    np.testing.assert_allclose(ep.observations['observation.state'], arm.ramp(t), atol=tol)
    np.testing.assert_allclose(ep.action, arm.ramp(t) * 2, atol=tol)
    goal = ep.observations['observation.environment_state']
    np.testing.assert_allclose(goal[:, :2], np.tile([0.3, -0.1], (len(t), 1)), atol=tol)
    if linear:
        np.testing.assert_allclose(goal[:, 2], t, atol=tol)
    else:
        np.testing.assert_allclose(goal[:, 2], np.floor(t * 5 + 1e-6) / 5, atol=tol)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('teleop', ['float64', 'trajectory', 'joint_state'])
def test_round_trip_values(tmp_path, bags, arm, contract, storage, teleop):
    tel_type = {'float64': 'std_msgs/msg/Float64MultiArray',
                'trajectory': 'trajectory_msgs/msg/JointTrajectory',
                'joint_state': 'sensor_msgs/msg/JointState'}[teleop]
    mapping = contract.to_mapping()
    mapping['teleop']['type'] = tel_type
    c = contract_from_mapping(mapping)
    bag = bags.write(tmp_path / 'bag', arm.messages(teleop=teleop), storage=storage)
    ep, warnings, count = bag_to_episode(bag, c)
    assert len(ep) == 31 and count == 151 + 16 + 61
    assert warnings == []
    check_episode(ep, arm)
    assert ep.metadata['source'] == str(bag) and ep.metadata['start_time_ns'] == arm.t0_ns


def test_linear_interpolation_between_messages(tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', arm.messages(js_phase_s=0.007))
    mapping = contract.to_mapping()
    mapping['sampling'] = 'linear'
    ep, _, _ = bag_to_episode(bag, contract_from_mapping(mapping))
    # The grid starts at the first joint state (t = 0.007 s); shift the expectation with it.
    shifted = type(arm)(ramp=lambda t: arm.ramp(t + 0.007))
    np.testing.assert_allclose(ep.observations['observation.state'], shifted.ramp(ep.timestamps),
                               atol=1e-5)
    np.testing.assert_allclose(ep.action, shifted.ramp(ep.timestamps) * 2, atol=1e-5)
    np.testing.assert_allclose(ep.observations['observation.environment_state'][:, 2],
                               ep.timestamps + 0.007, atol=1e-5)


def test_split_bag(tmp_path, bags, arm, contract):
    msgs = arm.messages()
    half = arm.t0_ns + 1_500_000_000
    a = bags.write(tmp_path / 'a', [m for m in msgs if m[2] < half])
    b = bags.write(tmp_path / 'b', [m for m in msgs if m[2] >= half])
    meta_a = yaml.safe_load((a / 'metadata.yaml').read_text())
    meta_b = yaml.safe_load((b / 'metadata.yaml').read_text())
    info, info_b = (m['rosbag2_bagfile_information'] for m in (meta_a, meta_b))
    split = tmp_path / 'split'
    split.mkdir()
    shutil.move(a / 'a.mcap', split / 'split_0.mcap')
    shutil.move(b / 'b.mcap', split / 'split_1.mcap')
    info['relative_file_paths'] = ['split_0.mcap', 'split_1.mcap']
    info['message_count'] += info_b['message_count']
    info['duration']['nanoseconds'] = (info_b['starting_time']['nanoseconds_since_epoch']
                                       + info_b['duration']['nanoseconds']
                                       - info['starting_time']['nanoseconds_since_epoch'])
    counts = {t['topic_metadata']['name']: t['message_count']
              for t in info_b['topics_with_message_count']}
    for t in info['topics_with_message_count']:
        t['message_count'] += counts[t['topic_metadata']['name']]
    info['files'] = [dict(f, path=p) for f, p in zip(info['files'] + info_b['files'],
                                                     info['relative_file_paths'])]
    (split / 'metadata.yaml').write_text(yaml.safe_dump(meta_a))
    ep, _, count = bag_to_episode(split, contract)
    assert count == len(msgs) and len(ep) == 31
    check_episode(ep, arm)


def test_gaps_reported_and_idle_trimmed(tmp_path, bags, arm, contract):
    msgs = arm.messages()
    gap = [m for m in msgs if not (m[0] == '/joint_states'
                                   and arm.t0_ns + 1.0e9 < m[2] < arm.t0_ns + 1.6e9)]
    ep, warnings, _ = bag_to_episode(bags.write(tmp_path / 'gap', gap), contract,
                                     ConvertOptions(gap_threshold_s=0.5))
    assert len(warnings) == 1 and 'topic /joint_states' in warnings[0] and '0.600 s' in warnings[0]

    idle = []
    for topic, typ, t_ns, msg in msgs:
        if topic == '/arm_controller/commands':
            t = (t_ns - arm.t0_ns) * 1e-9
            msg = bags.float64_array(arm.ramp(np.clip(t, 1.0, 2.0)) * 2)
        idle.append((topic, typ, t_ns, msg))
    bag = bags.write(tmp_path / 'idle', idle)
    full, _, _ = bag_to_episode(bag, contract)
    trimmed, _, _ = bag_to_episode(bag, contract, ConvertOptions(trim_idle=True))
    assert len(full) == 31
    assert len(trimmed) == 11  # 1.0 s .. 2.0 s: the idle frames bordering the motion kept
    np.testing.assert_allclose(trimmed.action[0], arm.ramp(1.0) * 2, atol=1e-6)
    np.testing.assert_allclose(trimmed.timestamps[0], 0.0)


def write_bad_bags(tmp_path, bags, arm):
    """Each bad case in its own directory; returns {case: path}."""
    msgs = arm.messages(seconds=1.0)
    out = {}
    out['empty'] = bags.write(tmp_path / 'empty', [(t, ty, 0, None) for t, ty, _, _ in msgs[:1]]
                              + [(m[0], m[1], 0, None) for m in msgs if m[0] != '/joint_states'])
    out['no_metadata'] = bags.write(tmp_path / 'no_metadata', msgs)
    (out['no_metadata'] / 'metadata.yaml').unlink()
    out['broken_metadata'] = bags.write(tmp_path / 'broken_metadata', msgs)
    (out['broken_metadata'] / 'metadata.yaml').write_text('rosbag2_bagfile_information: [oops')
    out['missing_topic'] = bags.write(tmp_path / 'missing_topic',
                                      [m for m in msgs if m[0] != '/task/goal'])
    wrong = [m if m[0] != '/task/goal' else
             (m[0], 'std_msgs/msg/Float64MultiArray', m[2], bags.float64_array([1.0]))
             for m in msgs]
    out['wrong_type'] = bags.write(tmp_path / 'wrong_type', wrong)
    trunc = bags.write(tmp_path / 'truncated', arm.messages(seconds=5.0))
    data = trunc / 'truncated.mcap'
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    out['truncated'] = trunc
    trunc = bags.write(tmp_path / 'truncated_db3', arm.messages(seconds=5.0), storage='sqlite3')
    data = trunc / 'truncated_db3.db3'
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    out['truncated_db3'] = trunc
    missing_joint = [m if m[0] != '/joint_states' else
                     (m[0], m[1], m[2], bags.joint_state(m[2], ['elbow'], [0.0])) for m in msgs]
    out['missing_joint'] = bags.write(tmp_path / 'missing_joint', missing_joint)
    return out


EXPECTED = {
    'empty': 'topic /joint_states (has no messages|not in bag)',
    'no_metadata': 'metadata.yaml missing',
    'broken_metadata': 'cannot open bag.*metadata.yaml',
    'missing_topic': 'topic /task/goal not in bag',
    'wrong_type': 'topic /task/goal has type std_msgs/msg/Float64MultiArray, the contract '
                  'expects geometry_msgs/msg/Point',
    'truncated': 'truncated or corrupt',
    'truncated_db3': 'truncated or corrupt',
    'missing_joint': "/joint_states: joint 'shoulder_pan' missing",
}


@pytest.fixture(scope='module')
def bad_bags(tmp_path_factory, bags, arm):
    return write_bad_bags(tmp_path_factory.mktemp('bad'), bags, arm)


@pytest.mark.parametrize('case', sorted(EXPECTED))
def test_bad_bag_errors_name_file_and_topic(bad_bags, contract, case):
    with pytest.raises(BagError, match=EXPECTED[case]) as err:
        bag_to_episode(bad_bags[case], contract)
    assert str(bad_bags[case]) in str(err.value) and '\n' not in str(err.value)


def test_unknown_and_custom_types(tmp_path, bags, arm, contract):
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores
    custom = get_typestore(Stores.ROS2_KILTED)
    custom.register(get_types_from_msg('float64 force\nfloat64[] torque\n',
                                       'my_msgs/msg/Wrench1D'))
    Wrench = custom.types['my_msgs/msg/Wrench1D']
    msgs = arm.messages(seconds=1.0)
    msgs += [('/wrench', 'my_msgs/msg/Wrench1D', arm.t0_ns + k * 50_000_000,
              Wrench(force=float(k), torque=np.array([0.5, -float(k)])))
             for k in range(21)]
    mapping = contract.to_mapping()
    mapping['observations']['observation.wrench'] = {
        'topic': '/wrench', 'type': 'my_msgs/msg/Wrench1D', 'fields': ['force', 'torque[1]']}
    c = contract_from_mapping(mapping)
    # MCAP carries the definition: the custom type converts.
    ep, _, _ = bag_to_episode(bags.write(tmp_path / 'mcap', msgs, typestore=custom), c)
    np.testing.assert_allclose(ep.observations['observation.wrench'][:, 0],
                               ep.timestamps * 20, atol=1e-4)
    # Without a definition anywhere the error names the topic and the type.
    bag = bags.write(tmp_path / 'nodef', msgs, typestore=custom)
    for f in bag.glob('*.mcap'):
        f.unlink()
    meta = yaml.safe_load((bag / 'metadata.yaml').read_text())
    shutil.rmtree(bag)
    bags.write(bag, [m for m in msgs if m[0] != '/wrench'], storage='mcap')
    info = meta['rosbag2_bagfile_information']
    new = yaml.safe_load((bag / 'metadata.yaml').read_text())
    wrench_meta = [t for t in info['topics_with_message_count']
                   if t['topic_metadata']['name'] == '/wrench'][0]
    wrench_meta['message_count'] = 0
    new['rosbag2_bagfile_information']['topics_with_message_count'].append(wrench_meta)
    (bag / 'metadata.yaml').write_text(yaml.safe_dump(new))
    with pytest.raises(BagError, match='topic /wrench: unknown message type my_msgs/msg/Wrench1D'):
        bag_to_episode(bag, c)


def test_convert_skips_bad_bags_and_writes_dataset(tmp_path, bags, arm, contract, bad_bags):
    good = [bags.write(tmp_path / f'good{i}', arm.messages(seconds=1.0 + i),
                       custom={'success': 'true' if i else 'false'}) for i in range(2)]
    # The synthetic action is twice the state: keep the frames where they drift apart.
    report = convert_bags([good[0], bad_bags['missing_topic'], good[1]], contract,
                          tmp_path / 'ds', ConvertOptions(task='reach', on_jump='keep'),
                          progress=False)
    assert len(report.converted) == 2 and len(report.skipped) == 1
    assert 'skipped:' in report.summary() and 'missing_topic' in report.summary()
    ds = read_dataset(tmp_path / 'ds')
    assert [len(ep) for ep in ds.episodes] == [11, 21]
    assert ds.names('observation.state') == ['shoulder_pan', 'shoulder_lift', 'elbow']
    assert ds.info['robot_type'] == 'mujoco_arm' and ds.fps == 10.0
    assert ds.episodes[0].task == 'reach'
    assert [ep.metadata['success'] for ep in ds.episodes] == [False, True]
    check_episode(ds.episodes[1], arm)


def test_cli_exit_codes(tmp_path, bags, arm, contract_path, bad_bags, capsys):
    good = bags.write(tmp_path / 'recordings' / 'ep0', arm.messages(seconds=1.0))
    rc = main(['convert', str(good.parent), str(bad_bags['wrong_type']), '--contract',
               str(contract_path), '--out', str(tmp_path / 'ds'), '--quiet'])
    out = capsys.readouterr().out
    assert rc == 0 and 'converted 1 of 2 bags' in out and 'wrong_type' in out
    rc = main(['convert', str(good), '--out', str(tmp_path / 'ds'), '--quiet'])
    assert rc == 1 and 'already exists' in capsys.readouterr().err
    rc = main(['convert', str(bad_bags['empty']), str(bad_bags['no_metadata']), '--contract',
               str(contract_path), '--out', str(tmp_path / 'ds2'), '--quiet'])
    assert rc == 1 and not (tmp_path / 'ds2').exists()


def test_header_stamps_preferred_over_receive_time(tmp_path, bags, arm, contract):
    """A recorder that receives late (sim bursts, busy machine) does not shift stamped topics."""
    rng = np.random.default_rng(0)
    late = []
    for topic, msgtype, t_ns, msg in arm.messages():
        if topic == '/joint_states':
            t_ns += int(rng.uniform(0.0, 0.04) * 1e9)  # received up to 40 ms late
        late.append((topic, msgtype, t_ns, msg))
    late.sort(key=lambda m: m[2])
    bag = bags.write(tmp_path / 'bag', late)
    ep, _, _ = bag_to_episode(bag, contract)
    np.testing.assert_allclose(ep.observations['observation.state'], arm.ramp(ep.timestamps),
                               atol=1e-5)
    by_receipt, _, _ = bag_to_episode(bag, contract, ConvertOptions(header_stamps=False))
    assert not np.allclose(by_receipt.observations['observation.state'],
                           arm.ramp(by_receipt.timestamps), atol=1e-5)


def test_unnamed_joint_states_and_renamed_commands(tmp_path, bags, contract):
    """/joint_states sends no names (read at indices) and calls the joints q0..q2; the teleop
    JointTrajectory names them q1..q3, the action joints (state_joints map one to the other)."""
    mapping = contract.to_mapping()
    mapping['observations']['observation.state'].update(joints=['q0', 'q1', 'q2'],
                                                        indices=[2, 0, 1])
    mapping['action'].update(joints=['q1', 'q2', 'q3'], state_joints=['q0', 'q1', 'q2'])
    mapping['limits'] = {j: {'lower': -5.0, 'upper': 5.0, 'max_velocity': 1.0}
                         for j in ('q1', 'q2', 'q3')}
    mapping['teleop']['type'] = 'trajectory_msgs/msg/JointTrajectory'
    c = contract_from_mapping(mapping)
    t0, msgs = 1_700_000_000 * 10 ** 9, []
    for k in range(21):
        t = t0 + k * 50_000_000
        msgs.append(('/joint_states', 'sensor_msgs/msg/JointState', t,
                     bags.joint_state(t, [], [1.0 + k, 2.0 + k, 0.0 + k])))
        msgs.append(('/task/goal', 'geometry_msgs/msg/Point', t, bags.point(0, 0, k)))
        msgs.append(('/arm_controller/commands', 'trajectory_msgs/msg/JointTrajectory', t,
                     bags.trajectory(t, ['q3', 'q1', 'q2'], [30.0 + k, 10.0 + k, 20.0 + k])))
    ep, warnings, _ = bag_to_episode(bags.write(tmp_path / 'bag', msgs), c)
    assert len(ep) == 11 and warnings == []
    k = np.arange(0, 21, 2)
    np.testing.assert_allclose(ep.observations['observation.state'],
                               np.stack([k, k + 1.0, k + 2.0], axis=1))
    np.testing.assert_allclose(ep.action, np.stack([k + 10.0, k + 20.0, k + 30.0], axis=1))


def test_a_dataset_only_contract_is_refused(tmp_path, contract):
    mapping = contract.to_mapping()
    mapping['observations']['observation.state'] = {'names': ['a', 'b', 'c']}
    c = contract_from_mapping(mapping, 'zarr.yaml')
    with pytest.raises(ContractError, match='zarr.yaml: observations.observation.state: has no '
                                            'topic/type'):
        convert_bags([tmp_path / 'none'], c, tmp_path / 'out', progress=False)
