"""Contract loading and validation: every error names the file and the key."""
import copy

import pytest
import yaml

from dil_ros.contract import (
    ContractError, contract_from_mapping, diff_mappings, load_contract)


@pytest.fixture
def mapping(contract):
    return contract.to_mapping()


def write(tmp_path, data, name='c.yaml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_contract_loads_typed(contract):
    assert contract.obs_dims == {'observation.state': 3, 'observation.environment_state': 3}
    assert contract.action.joints == ('shoulder_pan', 'shoulder_lift', 'elbow')
    assert contract.observations['observation.state'].joints == contract.action.joints
    assert contract.limits['elbow'].upper == pytest.approx(2.6)
    assert contract.dt == pytest.approx(0.1)
    assert contract.teleop.type == 'std_msgs/msg/Float64MultiArray'


def test_round_trip_through_mapping(contract, mapping):
    again = contract_from_mapping(copy.deepcopy(mapping))
    assert again.differences(contract) == []
    assert again.to_mapping() == mapping


@pytest.mark.parametrize('mutate, key, problem', [
    (lambda m: m.update(extra=1), 'extra', 'unknown key'),
    (lambda m: m.pop('horizon'), 'horizon', 'missing required key'),
    (lambda m: m.update(horizon='16'), 'horizon', 'expected int'),
    (lambda m: m.update(n_obs_steps=True), 'n_obs_steps', 'got bool'),
    (lambda m: m.update(rate_hz=0), 'rate_hz', 'must be > 0'),
    (lambda m: m.update(n_action_steps=20), 'n_action_steps', 'must not exceed horizon'),
    (lambda m: m['observations']['observation.state']['joints'].append('elbow'),
     'observations.observation.state.joints', "duplicate name 'elbow'"),
    (lambda m: m['observations']['observation.state'].pop('topic'),
     'observations.observation.state.topic', 'missing required key'),
    (lambda m: m['observations']['observation.state'].update(field='torque'),
     'observations.observation.state.field', 'must be one of'),
    (lambda m: m['observations']['observation.environment_state'].update(joints=['a']),
     'observations.observation.environment_state.joints', 'only JointState'),
    (lambda m: m['observations'].update({'state': m['observations']['observation.state']}),
     'observations.state', "must start with 'observation.'"),
    (lambda m: m['observations']['observation.state'].update(type='JointState'),
     'observations.observation.state.type', 'pkg/msg/Type'),
    (lambda m: m['observations']['observation.state'].update(topic='joint_states'),
     'observations.observation.state.topic', 'must be absolute'),
    (lambda m: m['action'].update(joints=['a', 'a']), 'action.joints', 'duplicate'),
    (lambda m: m['action'].update(joints=[]), 'action.joints', 'must not be empty'),
    (lambda m: m['teleop'].update(type='geometry_msgs/msg/Pose'), 'teleop.type', 'must be one of'),
    (lambda m: m['limits'].update(wrist={'lower': 0, 'upper': 1, 'max_velocity': 1}),
     'limits.wrist', 'not in action.joints'),
    (lambda m: m['limits']['elbow'].update(lower=3.0), 'limits.elbow', 'must be below upper'),
    (lambda m: m['limits']['elbow'].pop('max_velocity'), 'limits.elbow.max_velocity',
     'missing required key'),
])
def test_bad_contract_names_file_and_key(tmp_path, mapping, mutate, key, problem):
    mutate(mapping)
    path = write(tmp_path, mapping)
    with pytest.raises(ContractError) as err:
        load_contract(path)
    message = str(err.value)
    assert message.startswith(f'{path}: {key}:'), message
    assert problem in message


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(ContractError, match='missing.yaml: cannot read contract'):
        load_contract(tmp_path / 'missing.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('name: [unclosed\n')
    with pytest.raises(ContractError, match='bad.yaml: not valid YAML'):
        load_contract(bad)
    scalar = write(tmp_path, 'just a string', 'scalar.yaml')
    with pytest.raises(ContractError, match='expected a mapping'):
        load_contract(scalar)


def test_differences_name_the_key(contract, mapping):
    mapping['observations']['observation.state']['joints'] = ['elbow', 'shoulder_lift',
                                                              'shoulder_pan']
    mapping['rate_hz'] = 20.0
    other = contract_from_mapping(mapping)
    diffs = contract.differences(other)
    assert any(d.startswith('rate_hz: 10.0 vs 20.0') for d in diffs)
    assert any(d.startswith('observations.observation.state.joints') for d in diffs)
    assert diff_mappings({'a': 1}, {'b': 1}) == ['a: 1 in first, missing in second',
                                                 'b: missing in first, 1 in second']
