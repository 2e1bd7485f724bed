"""Episode selection and the validation split: specs, fractions, overlaps, errors."""
import pytest

from dil_ros.errors import DilRosError
from dil_ros.training.config import run_config_from_mapping
from dil_ros.training.episodes import make_split, resolve


@pytest.mark.parametrize('spec, tail, want', [
    ('all', False, list(range(10))),
    ('none', True, []),
    ('0:3', False, [0, 1, 2]),
    (':2,8:', False, [0, 1, 8, 9]),
    ('3,7,9', False, [3, 7, 9]),
    ('0.9', False, list(range(9))),
    ('0.2', True, [8, 9]),
    ('0.01', True, [9]),          # a fraction always picks at least one episode
])
def test_resolve(spec, tail, want):
    assert resolve(spec, 10, '--episodes', tail=tail) == want


def test_split_holds_out_without_overlap():
    split = make_split(10, 'all', '0.2', 'ds')
    assert split.train == tuple(range(8)) and split.val == (8, 9)
    split = make_split(100, '0:90', '90:100', 'ds')
    assert len(split.train) == 90 and split.val == tuple(range(90, 100))
    assert make_split(5, 'all', 'none', 'ds').val == ()


@pytest.mark.parametrize('train, val, match', [
    ('0:6', '0.5', r'ds: --episodes 0:6 and --val-episodes 0.5 share episodes \[5\]'),
    ('0:20', 'none', r'ds: --episodes 0:20: .*outside the dataset\'s 10 episodes'),
    ('a:b', 'none', "'a:b' is not an episode index or range"),
    ('1.5', 'none', r'a fraction must lie in \(0, 1\)'),
    ('all', '0:10', 'leaves no episode to train on'),
])
def test_bad_specs_are_one_line(train, val, match):
    with pytest.raises(DilRosError, match=match):
        make_split(10, train, val, 'ds')


def test_config_keys_take_specs_and_fractions():
    cfg = run_config_from_mapping({'train': {'episodes': 0.9, 'val_episodes': '90:'}}, 'f.yaml')
    assert cfg.train.episodes == '0.9' and cfg.train.val_episodes == '90:'
    with pytest.raises(DilRosError, match='f.yaml: train: episodes'):
        run_config_from_mapping({'train': {'episodes': '1-3'}}, 'f.yaml')
