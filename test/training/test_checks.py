"""Training refuses a dataset that does not fit its contract, in one line naming both values."""
import json

import pytest

from dil_ros.contract import contract_from_mapping
from dil_ros.data.lerobot import write_dataset
from dil_ros.sim import bimodal
from dil_ros.training.checks import DatasetContractError
from dil_ros.training.trainer import train


def _contract(contract_2d, **changes):
    data = {**contract_2d.to_mapping(), **changes}
    return contract_from_mapping(data, '<test contract>')


@pytest.fixture(scope='module')
def named_dataset(tmp_path_factory):
    """The bimodal demonstrations with per-dimension names, as `dil-ros convert` writes them."""
    root = tmp_path_factory.mktemp('named') / 'ds'
    names = {bimodal.STATE: ['x', 'y'], bimodal.ENV: ['x', 'y'], 'action': ['x', 'y']}
    return write_dataset(root, bimodal.make_demonstrations(6, seed=1), fps=bimodal.RATE_HZ,
                         names=names)


def test_frame_rate_must_match(tmp_path, named_dataset, contract_2d, train_request):
    slow = _contract(contract_2d, rate_hz=30.0)
    with pytest.raises(DatasetContractError) as err:
        train(train_request(named_dataset, tmp_path / 'r', slow))
    msg = str(err.value)
    assert str(named_dataset) in msg and 'fps 10' in msg and 'rate_hz 30' in msg
    assert '\n' not in msg


def test_joint_names_must_match_in_order(tmp_path, named_dataset, contract_2d, train_request):
    swapped = _contract(contract_2d, action={'joints': ['y', 'x'], 'controller': 'c'})
    with pytest.raises(DatasetContractError,
                       match=r"ds: action names \['x', 'y'\] in the dataset, \['y', 'x'\] in "
                             r'contract <test contract> \(same names, other order\)'):
        train(train_request(named_dataset, tmp_path / 'r', swapped))


def test_keys_and_dimensions_must_match(tmp_path, named_dataset, contract_2d, train_request):
    obs = dict(contract_2d.to_mapping()['observations'])
    obs['observation.velocity'] = obs[bimodal.STATE]
    extra = _contract(contract_2d, observations=obs)
    with pytest.raises(DatasetContractError,
                       match=r"ds: no feature 'observation.velocity', which contract <test "
                             r'contract> needs \(dataset observation keys: '):
        train(train_request(named_dataset, tmp_path / 'r', extra))
    obs = dict(contract_2d.to_mapping()['observations'])
    obs[bimodal.STATE] = {**obs[bimodal.STATE], 'fields': ['x', 'y', 'z']}
    wide = _contract(contract_2d, observations=obs)
    with pytest.raises(DatasetContractError,
                       match=f'ds: {bimodal.STATE} has dimension 2 in the dataset, 3 in '
                             'contract <test contract>'):
        train(train_request(named_dataset, tmp_path / 'r', wide))


def test_features_the_contract_does_not_name_are_not_read(tmp_path, contract_2d, train_request):
    """Extra state and camera features (LeRobot datasets) do not stop training."""
    demos = bimodal.make_demonstrations(6, seed=2)
    for ep in demos:
        ep.observations['observation.extra'] = ep.action[:, :1] * 0 + 1
    root = write_dataset(tmp_path / 'ds', demos, fps=bimodal.RATE_HZ)
    info_path = root / 'meta/info.json'
    info = json.loads(info_path.read_text())
    info['features']['observation.images.top'] = {'dtype': 'video', 'shape': [96, 96, 3],
                                                  'names': ['height', 'width', 'channels']}
    info_path.write_text(json.dumps(info))
    result = train(train_request(root, tmp_path / 'run', contract_2d, steps=2))
    from dil_ros.training.checkpoint import load_checkpoint
    assert set(load_checkpoint(result.checkpoint)['obs_dims']) == {bimodal.STATE, bimodal.ENV}
