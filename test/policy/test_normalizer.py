import pytest
import torch

from dil_ros.errors import DilRosError
from dil_ros.policy.normalizer import MinMaxNormalizer

STATS = {
    'observation.state': {'min': [-2.0, 0.0, 5.0], 'max': [2.0, 10.0, 5.0], 'mean': [0, 0, 0]},
    'action': {'min': [-1.0], 'max': [3.0]},
}


def test_maps_min_max_to_unit_range_and_round_trips():
    norm = MinMaxNormalizer(STATS)
    x = torch.tensor([[-2.0, 0.0, 5.0], [2.0, 10.0, 5.0], [0.0, 5.0, 5.0]])
    y = norm.normalize('observation.state', x)
    torch.testing.assert_close(y, torch.tensor([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0],
                                                [0.0, 0.0, 0.0]]))
    torch.testing.assert_close(norm.unnormalize('observation.state', y), x)
    data = torch.rand(4, 2, 1) * 4 - 1
    ny = norm.normalize('action', data)
    assert ny.min() >= -1 and ny.max() <= 1
    torch.testing.assert_close(norm.unnormalize('action', ny), data)


def test_constant_dimension_maps_to_zero_and_back_to_constant():
    norm = MinMaxNormalizer(STATS)
    y = norm.normalize('observation.state', torch.full((2, 3), 5.0))
    assert y[:, 2].abs().max() == 0
    back = norm.unnormalize('observation.state', torch.zeros(1, 3))
    assert back[0, 2] == 5.0


def test_statistics_travel_in_state_dict():
    norm = MinMaxNormalizer(STATS)
    other = MinMaxNormalizer({'observation.state': {'min': [0, 0, 0], 'max': [1, 1, 1]},
                              'action': {'min': [0], 'max': [1]}})
    other.load_state_dict(norm.state_dict())
    x = torch.randn(5, 3)
    torch.testing.assert_close(other.normalize('observation.state', x),
                               norm.normalize('observation.state', x))
    assert 'params.observation__state.scale' in norm.state_dict()


def test_scripted_lookup_matches_eager_and_unknown_key_fails():
    norm = MinMaxNormalizer(STATS)
    scripted = torch.jit.script(norm)
    x = torch.randn(2, 4, 1)
    torch.testing.assert_close(scripted.unnormalize('action', x), norm.unnormalize('action', x))
    with pytest.raises(Exception, match='no statistics for key observation.velocity'):
        scripted.normalize('observation.velocity', x)


@pytest.mark.parametrize('stats, message', [
    ({'action': {'min': [0.0]}}, 'action.max: missing'),
    ({'action': {'min': [0.0, 1.0], 'max': [1.0]}}, 'action: min has 2 values, max has 1'),
    ({'action': {'min': [1.0], 'max': [0.0]}}, r'action: max is below min at dims \[0\]'),
    ({'action': {'min': ['a'], 'max': [0.0]}}, 'action.min: expected numbers'),
    ({'action': {'min': [float('nan')], 'max': [0.0]}}, 'action.min: values must be finite'),
    ({}, 'expected a non-empty mapping'),
])
def test_bad_statistics_name_the_key(stats, message):
    with pytest.raises(DilRosError, match=message):
        MinMaxNormalizer(stats)
