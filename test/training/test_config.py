"""Training config files: defaults, the shipped YAMLs, and errors that name file and key."""
import pytest

from dil_ros.errors import DilRosError
from dil_ros.training.config import (ConfigError, config_dir, load_run_config,
                                     run_config_from_mapping)


def test_shipped_configs_load():
    default = load_run_config(config_dir() / 'train_default.yaml')
    assert default.optim.lr == pytest.approx(1e-4)
    assert default.optim.betas == (0.95, 0.999)
    assert default.ema.power == 0.75 and default.ema.max_value == 0.9999
    assert default.train.batch_size == 256
    assert default.policy.down_dims == (256, 512, 1024)
    tiny = load_run_config(config_dir() / 'train_tiny.yaml')
    assert tiny.train.steps < default.train.steps


def test_small_preset_is_chis_recipe_with_the_small_unet():
    small = load_run_config(config_dir() / 'train_small.yaml')
    default = load_run_config(config_dir() / 'train_default.yaml')
    assert small.policy.down_dims == (64, 128, 256)
    assert small.optim == default.optim and small.ema == default.ema
    assert small.train.batch_size == default.train.batch_size
    assert small.policy.diffusion_step_embed_dim == default.policy.diffusion_step_embed_dim


def test_round_trip_through_dict():
    cfg = load_run_config(config_dir() / 'train_tiny.yaml')
    again = run_config_from_mapping(cfg.to_dict(), '<again>')
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize('text, where', [
    ('optim: {lrr: 0.1}', 'optim.lrr'),
    ('trainer: {}', 'trainer'),
    ('policy: {down_dim: [8]}', 'policy.down_dim'),
    ("optim: {lr: '1e-4'}", 'optim.lr'),
    ('train: {amp: 1}', 'train.amp'),
    ('train: {steps: 0}', 'train'),
    ('ema: {max_value: 2.0}', 'ema'),
])
def test_bad_keys_name_file_and_key(tmp_path, text, where):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(DilRosError) as info:
        load_run_config(path)
    assert str(path) in str(info.value) and where in str(info.value)


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match='cannot read'):
        load_run_config(tmp_path / 'nope.yaml')
