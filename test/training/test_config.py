"""Training config files: defaults, the shipped YAMLs, and errors that name file and key."""
import pytest

from dil_ros.errors import DilRosError
from dil_ros.training.config import (ConfigError, config_dir, default_config,
                                     load_run_config, run_config_from_mapping)


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


@pytest.mark.parametrize('cuda, file, dims', [(True, 'train_default.yaml', (256, 512, 1024)),
                                               (False, 'train_small.yaml', (64, 128, 256))])
def test_default_config_fits_the_device(cuda, file, dims):
    path, why = default_config(cuda)
    assert path == config_dir() / file and str(list(dims)) in why
    assert load_run_config(path).policy.down_dims == dims


def test_train_names_the_config_and_why_first(tmp_path, monkeypatch, capsys):
    """Without --config a CPU trains the small U-Net, not Chi's 65 M-parameter one."""
    import torch

    from dil_ros.cli.main import main
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert main(['train', '--dataset', str(tmp_path / 'none'), '--out', str(tmp_path / 'r'),
                 '--no-progress']) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f'config: {config_dir() / "train_small.yaml"} (no CUDA device: the small '
                     'U-Net [64, 128, 256], about 13x faster a step on a CPU than Chi et al.\'s '
                     '[256, 512, 1024] (--config config/train_default.yaml for that))')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    main(['train', '--dataset', str(tmp_path / 'none'), '--out', str(tmp_path / 'r')])
    assert capsys.readouterr().out.startswith(f'config: {config_dir() / "train_default.yaml"} '
                                              '(a CUDA device is present')


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


def test_vision_preset_reads_and_round_trips():
    cfg = load_run_config(config_dir() / 'train_vision_small.yaml')
    assert (cfg.vision.base_width, cfg.vision.num_keypoints, cfg.vision.feature_dim) == \
        (16, 32, 64)
    assert run_config_from_mapping(cfg.to_dict(), '<again>').vision == cfg.vision


def test_vision_section_errors_name_file_and_key():
    with pytest.raises(ConfigError, match=r'<f>: vision.base_width: expected an integer'):
        run_config_from_mapping({'vision': {'base_width': 'wide'}}, '<f>')
    with pytest.raises(ConfigError, match=r'<f>: vision.keypoints: unknown key'):
        run_config_from_mapping({'vision': {'keypoints': 32}}, '<f>')
