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
    (lambda m: m['limits'].pop('elbow'), 'limits.elbow', 'missing (every action joint needs'),
    (lambda m: m.pop('limits'), 'limits', 'missing required key'),
    (lambda m: m.update(sampling='cubic'), 'sampling', 'must be one of'),
    (lambda m: m['observations']['observation.environment_state'].update(
        topic='/joint_states'), 'observations.observation.state.type',   # keys in YAML order
     'topic /joint_states is sensor_msgs/msg/JointState here but geometry_msgs/msg/Point'),
    (lambda m: m['teleop'].update(topic='/task/goal'), 'teleop.type',
     'topic /task/goal is std_msgs/msg/Float64MultiArray here but geometry_msgs/msg/Point'),
    (lambda m: m['observations']['observation.state'].update(indices=[0, 1]),
     'observations.observation.state.indices', 'one index per joint (3), got 2'),
    (lambda m: m['observations']['observation.state'].update(indices=[0, -1, 2]),
     'observations.observation.state.indices[1]', 'expected an index >= 0'),
    (lambda m: m['observations']['observation.state'].update(indices=[0, 0, 2]),
     'observations.observation.state.indices', 'duplicate index'),
    (lambda m: m['observations']['observation.environment_state'].update(indices=[0]),
     'observations.observation.environment_state.indices', 'only JointState'),
    (lambda m: m['action'].update(state_joints=['shoulder_pan']), 'action.state_joints',
     'one measured joint per action joint (3), got 1'),
    (lambda m: m['action'].update(state_joints=['q0', 'shoulder_lift', 'elbow']),
     'action.state_joints', "'q0' is not in any JointState position observation"),
    (lambda m: m['observations'].update({'observation.x': {'names': ['a'], 'fields': ['x']}}),
     'observations.observation.x.fields', 'lists only its names'),
    (lambda m: m['observations'].update({'observation.x': {}}), 'observations.observation.x.topic',
     'missing required key (or give only names'),
    (lambda m: m['observations']['observation.state'].update(names=['a']),
     'observations.observation.state.names', 'only dataset-only keys'),
    (lambda m: m['observations']['observation.state'].pop('type'),
     'observations.observation.state.type', 'missing required key'),
    (lambda m: m['observations']['observation.state'].update(max_age_s=0),
     'observations.observation.state.max_age_s', 'must be > 0 (or .inf), got 0'),
    (lambda m: m['observations']['observation.state'].update(max_age_s='forever'),
     'observations.observation.state.max_age_s', "expected float, got str ('forever')"),
    (lambda m: m['action'].update(max_state_error=float('inf')), 'action.max_state_error',
     'must be > 0, got inf'),
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


def test_differences_name_the_key_and_the_sides(contract, mapping):
    mapping['observations']['observation.state']['joints'] = ['elbow', 'shoulder_lift',
                                                              'shoulder_pan']
    mapping['rate_hz'] = 20.0
    mapping['sampling'] = 'linear'
    other = contract_from_mapping(mapping)
    diffs = contract.differences(other)
    assert 'rate_hz: policy 10.0, robot 20.0' in diffs
    assert "sampling: policy 'previous', robot 'linear'" in diffs
    assert any(d.startswith('observations.observation.state.names: policy') for d in diffs)
    assert diff_mappings({'a': 1}, {'b': 1}) == ['a: policy 1, missing in robot',
                                                 'b: missing in policy, robot 1']


def test_differences_ignore_what_the_robot_owns(contract, mapping):
    """Limits, topics, teleop, controller, name, indices and state_joints need no re-export."""
    mapping['name'] = 'real_arm'
    mapping['limits']['elbow'] = {'lower': -1.0, 'upper': 1.0, 'max_velocity': 0.5}
    mapping['observations']['observation.state'].update(topic='/robot/joint_states',
                                                        indices=[2, 1, 0])
    mapping['observations']['observation.environment_state']['topic'] = '/goal'
    mapping['teleop'] = {'topic': '/cmd', 'type': 'trajectory_msgs/msg/JointTrajectory'}
    mapping['action']['controller'] = 'other_controller'
    robot = contract_from_mapping(mapping)
    assert contract.differences(robot) == []
    assert robot.limits['elbow'].max_velocity == 0.5


def test_differences_see_dims_field_and_keys(contract, mapping):
    mapping['observations']['observation.state']['field'] = 'velocity'
    mapping['observations']['observation.environment_state']['fields'] = ['x', 'y']
    del mapping['observations']['observation.state']
    mapping['observations']['observation.joints'] = {
        'topic': '/joint_states', 'type': 'sensor_msgs/msg/JointState', 'field': 'velocity',
        'joints': ['elbow']}
    diffs = contract.differences(contract_from_mapping(mapping))
    assert any(d.startswith('observations.observation.state: policy') and
               d.endswith('missing in robot') for d in diffs)
    assert any(d.startswith('observations.observation.joints: missing in policy')
               for d in diffs)
    assert "observations.observation.environment_state.names: policy ['x', 'y', 'z'], " \
           "robot ['x', 'y']" in diffs


def test_dataset_only_keys(contract, mapping, tmp_path):
    mapping['observations'] = {'observation.state': {'names': ['x', 'y']}}
    del mapping['teleop']
    path = write(tmp_path, mapping)
    c = load_contract(path)
    assert c.obs_dims == {'observation.state': 2}
    assert c.observations['observation.state'].names == ['x', 'y']
    assert c.teleop is None
    assert contract_from_mapping(c.to_mapping()).to_mapping() == c.to_mapping()
    with pytest.raises(ContractError, match=rf'^{path}: observations.observation.state: has no '
                                            r'topic/type .*; the recorder needs a ROS topic'):
        c.require_topics('the recorder')
    contract.require_topics('the recorder')   # the arm's contract has every topic
    mapping['observations']['observation.state'] = {'topic': '/s', 'type': 'geometry_msgs/msg/'
                                                    'Point', 'fields': ['x', 'y']}
    with pytest.raises(ContractError, match=rf'^{path}: teleop: missing; the policy node'):
        load_contract(write(tmp_path, mapping)).require_topics('the policy node')
    # A policy trained on such a dataset runs on a robot that names the same dimensions.
    assert c.differences(contract_from_mapping(mapping)) == []


def test_new_keys_round_trip(mapping):
    mapping['observations']['observation.state'].update(
        joints=['q0', 'q1', 'q2'], indices=[0, 1, 2])
    mapping['action'].update(joints=['q1', 'q2', 'q3'], state_joints=['q0', 'q1', 'q2'])
    mapping['limits'] = {j: {'lower': -1.0, 'upper': 1.0, 'max_velocity': 1.0}
                         for j in ('q1', 'q2', 'q3')}
    mapping['sampling'] = 'linear'
    c = contract_from_mapping(mapping)
    assert c.observations['observation.state'].indices == (0, 1, 2)
    assert c.action.state_joints == ('q0', 'q1', 'q2')
    assert c.sampling == 'linear'
    assert contract_from_mapping(c.to_mapping()).to_mapping() == c.to_mapping() == mapping


def test_staleness_and_state_error_bounds_round_trip_as_json(mapping):
    """max_age_s .inf (a latched goal) travels as 'inf' (policy.ts metadata is strict JSON)."""
    import json
    mapping['observations']['observation.environment_state']['max_age_s'] = float('inf')
    mapping['observations']['observation.state']['max_age_s'] = 0.25
    mapping['action']['max_state_error'] = 0.3
    c = contract_from_mapping(mapping)
    assert c.observations['observation.environment_state'].max_age_s == float('inf')
    assert c.observations['observation.state'].max_age_s == 0.25
    assert c.action.max_state_error == 0.3
    text = json.dumps(c.to_mapping(), allow_nan=False)
    assert contract_from_mapping(json.loads(text)) == c
    assert contract_from_mapping(json.loads(text)).differences(c) == []


def test_sampling_defaults_to_zero_order_hold(contract, mapping):
    del mapping['sampling']
    assert contract_from_mapping(mapping).sampling == 'previous' == contract.sampling
    assert contract.action.state_joints == contract.action.joints


FRONT = {'topic': '/camera/front/image_raw', 'type': 'sensor_msgs/msg/Image', 'height': 96,
         'width': 96, 'crop': [84, 84]}
WRIST = {'topic': '/camera/wrist/compressed', 'type': 'sensor_msgs/msg/CompressedImage',
         'height': 48, 'width': 64, 'encodings': ['jpeg']}


@pytest.fixture
def camera_mapping(mapping):
    mapping['observations']['observation.images.front'] = copy.deepcopy(FRONT)
    mapping['observations']['observation.images.wrist'] = copy.deepcopy(WRIST)
    return mapping


def test_camera_keys_typed_and_round_trip(camera_mapping):
    c = contract_from_mapping(camera_mapping)
    front, wrist = c.observations['observation.images.front'], \
        c.observations['observation.images.wrist']
    assert front.is_image and wrist.is_image
    assert not c.observations['observation.state'].is_image
    assert (front.height, front.width, front.crop) == (96, 96, (84, 84))
    assert front.encodings == ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')
    assert (wrist.crop, wrist.encodings) == ((), ('jpeg',))
    assert c.image_keys == ['observation.images.front', 'observation.images.wrist']
    assert c.lowdim_keys == ['observation.state', 'observation.environment_state']
    assert c.obs_dims == {'observation.state': 3, 'observation.environment_state': 3}
    assert c.image_shapes == {'observation.images.front': (96, 96, 3),
                              'observation.images.wrist': (48, 64, 3)}
    assert contract_from_mapping(c.to_mapping()) == c
    assert c.to_mapping() == camera_mapping
    c.require_topics('the recorder')


def test_dataset_only_camera(mapping):
    mapping['observations'] = {'observation.images.img': {'height': 96, 'width': 96},
                               'observation.state': {'names': ['x', 'y']}}
    del mapping['teleop']
    c = contract_from_mapping(mapping)
    img = c.observations['observation.images.img']
    assert img.is_image and not img.has_topic and img.encodings == ()
    assert c.image_shapes == {'observation.images.img': (96, 96, 3)}
    assert contract_from_mapping(c.to_mapping()) == c
    with pytest.raises(ContractError, match='observation.images.img: has no topic/type'):
        c.require_topics('the recorder')


CAM = 'observations.observation.images.front'


@pytest.mark.parametrize('mutate, key, problem', [
    (lambda o: o['observation.images.front'].pop('height'), f'{CAM}.height',
     'missing required key'),
    (lambda o: o['observation.images.front'].pop('width'), f'{CAM}.width',
     'missing required key'),
    (lambda o: o['observation.images.front'].update(height=0), f'{CAM}.height', 'must be >= 1'),
    (lambda o: o['observation.images.front'].update(width='96'), f'{CAM}.width', 'expected int'),
    (lambda o: o['observation.images.front'].update(crop=[84]), f'{CAM}.crop',
     'expected [height, width]'),
    (lambda o: o['observation.images.front'].update(crop='84x84'), f'{CAM}.crop',
     'expected list'),
    (lambda o: o['observation.images.front'].update(crop=[84, 0]), f'{CAM}.crop[1]',
     'must be >= 1'),
    (lambda o: o['observation.images.front'].update(crop=[100, 84]), f'{CAM}.crop[0]',
     'crop height 100 exceeds height 96'),
    (lambda o: o['observation.images.front'].update(encodings=['jpeg']), f'{CAM}.encodings[0]',
     "sensor_msgs/msg/Image encoding must be one of"),
    (lambda o: o['observation.images.front'].update(encodings=[]), f'{CAM}.encodings',
     'must not be empty'),
    (lambda o: o['observation.images.front'].update(encodings=['rgb8', 'rgb8']),
     f'{CAM}.encodings', 'duplicate'),
    (lambda o: o['observation.images.front'].update(joints=['a']), f'{CAM}.joints',
     "camera keys take no 'joints'"),
    (lambda o: o['observation.images.front'].update(fields=['data']), f'{CAM}.fields',
     "camera keys take no 'fields'"),
    (lambda o: o['observation.images.front'].update(indices=[0]), f'{CAM}.indices',
     "camera keys take no 'indices'"),
    (lambda o: o['observation.images.front'].update(type='geometry_msgs/msg/Point'),
     f'{CAM}.type', 'a camera key must be one of'),
    (lambda o: o['observation.images.front'].pop('topic'), f'{CAM}.topic',
     'missing required key'),
    (lambda o: o['observation.images.front'].update(size=3), f'{CAM}.size', 'unknown key'),
    (lambda o: o.update({'observation.front': dict(FRONT)}), 'observations.observation.front',
     'is named observation.images.<camera>'),
    (lambda o: o.update({'observation.images.': dict(FRONT)}), 'observations.observation.images.',
     'is named observation.images.<camera>'),
    (lambda o: o['observation.environment_state'].update(height=3),
     'observations.observation.environment_state.height', 'only camera keys'),
    (lambda o: o['observation.state'].update(crop=[2, 2]),
     'observations.observation.state.crop', 'only camera keys'),
    (lambda o: o.update({'observation.images.img': {'height': 4, 'width': 4,
                                                    'encodings': ['rgb8']}}),
     'observations.observation.images.img.encodings', 'lists only height, width and crop'),
])
def test_bad_camera_entry_names_file_and_key(tmp_path, camera_mapping, mutate, key, problem):
    mutate(camera_mapping['observations'])
    path = write(tmp_path, camera_mapping)
    with pytest.raises(ContractError) as err:
        load_contract(path)
    message = str(err.value)
    assert message.startswith(f'{path}: {key}:'), message
    assert problem in message


def test_policy_comparison_sees_camera_size_and_crop_not_topic(camera_mapping):
    policy = contract_from_mapping(copy.deepcopy(camera_mapping))
    robot = copy.deepcopy(camera_mapping)
    robot['observations']['observation.images.front'].update(
        topic='/cam/image', type='sensor_msgs/msg/CompressedImage', encodings=['png'])
    assert policy.differences(contract_from_mapping(robot)) == []
    robot['observations']['observation.images.front'].update(height=120, crop=[96, 84])
    del robot['observations']['observation.images.wrist']['height']
    robot['observations']['observation.images.wrist']['height'] = 50
    diffs = policy.differences(contract_from_mapping(robot))
    assert sorted(diffs) == [
        'observations.observation.images.front.crop: policy [84, 84], robot [96, 84]',
        'observations.observation.images.front.height: policy 96, robot 120',
        'observations.observation.images.wrist.height: policy 48, robot 50']
    del robot['observations']['observation.images.wrist']
    assert any(d.startswith('observations.observation.images.wrist: policy') and
               d.endswith('missing in robot') for d in policy.differences(
                   contract_from_mapping(robot)))
