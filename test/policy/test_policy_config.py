import pytest

from dil_ros.errors import DilRosError
from dil_ros.policy.config import PolicyConfig, PolicyError


def test_defaults_are_chi_et_al():
    cfg = PolicyConfig()
    assert (cfg.n_obs_steps, cfg.horizon, cfg.n_action_steps) == (2, 16, 8)
    assert cfg.down_dims == (256, 512, 1024)
    assert cfg.beta_schedule == 'squaredcos_cap_v2' and cfg.num_inference_steps == 10


def test_dict_round_trip():
    cfg = PolicyConfig(down_dims=[64, 128, 256], prediction_type='sample')
    data = cfg.to_dict()
    assert data['down_dims'] == [64, 128, 256] and 'source' not in data
    assert PolicyConfig.from_dict(data) == cfg
    assert cfg.down_dims == (64, 128, 256)


def test_from_dict_rejects_unknown_key_naming_source():
    with pytest.raises(PolicyError, match=r'train\.yaml: policy: down_dim: unknown key'):
        PolicyConfig.from_dict({'down_dim': [1]}, source='train.yaml: policy')


@pytest.mark.parametrize('overrides, message', [
    ({'horizon': 10}, 'horizon: 10 is not divisible by 4'),
    ({'n_action_steps': 16}, 'n_action_steps: n_obs_steps \\+ n_action_steps - 1 = 17'),
    ({'down_dims': (16, 30)}, r'down_dims\[1\]: 30 channels are not divisible by n_groups=8'),
    ({'down_dims': ()}, 'down_dims: must list'),
    ({'beta_schedule': 'cosine'}, 'beta_schedule: must be one of'),
    ({'prediction_type': 'v_prediction'}, 'prediction_type: must be one of'),
    ({'num_inference_steps': 101}, 'num_inference_steps: 101 exceeds num_train_timesteps'),
    ({'kernel_size': 4}, 'kernel_size: must be odd'),
    ({'n_obs_steps': 0}, 'n_obs_steps: must be >= 1'),
    ({'horizon': 16.0}, 'horizon: expected int'),
    ({'clip_sample': 1}, 'clip_sample: expected bool'),
    ({'diffusion_step_embed_dim': 7}, 'diffusion_step_embed_dim: must be even'),
])
def test_invalid_values_name_the_key(overrides, message):
    with pytest.raises(DilRosError, match=message):
        PolicyConfig(**overrides)
