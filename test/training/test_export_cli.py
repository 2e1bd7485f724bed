"""`dil-ros train` and `dil-ros export` end to end on a tiny run; errors are one line."""
import numpy as np
import pytest
import torch
import yaml

from dil_ros.cli.main import main
from dil_ros.policy.artifact import load_artifact


@pytest.fixture(scope='module')
def trained_runs(tmp_path_factory, bimodal_dataset, contract_2d):
    root = tmp_path_factory.mktemp('runs')
    config = root / 'train.yaml'
    config.write_text(yaml.safe_dump({
        'train': {'steps': 3, 'batch_size': 16, 'log_every': 1, 'device': 'cpu'},
        'policy': {'down_dims': [16, 32], 'diffusion_step_embed_dim': 16, 'kernel_size': 3},
        'regression': {'hidden_dims': [16]},
    }))
    contract = root / 'contract.yaml'
    contract.write_text(yaml.safe_dump(contract_2d.to_mapping()))
    common = ['--dataset', str(bimodal_dataset), '--config', str(config), '--contract',
              str(contract), '--no-progress']
    assert main(['train', *common, '--out', str(root / 'diffusion')]) == 0
    assert main(['train', *common, '--out', str(root / 'baseline'), '--baseline']) == 0
    return root


def obs():
    return {'observation.state': np.zeros((2, 2), np.float32),
            'observation.environment_state': np.tile(np.float32([[0, 1]]), (2, 1))}


def test_export_diffusion_with_and_without_ema(trained_runs, contract_2d, capsys):
    from dil_ros.policy.digest import file_sha256
    out = trained_runs / 'policy.ts'
    assert main(['export', str(trained_runs / 'diffusion'), '-o', str(out)]) == 0
    digest = file_sha256(out)
    assert f'sha256 {digest}' in capsys.readouterr().out
    assert (trained_runs / 'policy.ts.sha256').read_text() == f'{digest}  policy.ts\n'
    art = load_artifact(out)
    art.require_contract(contract_2d)
    assert art.meta['kind'] == 'diffusion' and art.meta['ema'] is True
    assert art.meta['train_step'] == 3 and art.meta['num_inference_steps'] == 10
    noise = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    ema_actions = art.predict(obs(), noise)
    assert ema_actions.shape == (16, 2) and np.isfinite(ema_actions).all()

    def export(name, *flags):
        path = trained_runs / name
        assert main(['export', str(trained_runs / 'diffusion'), '-o', str(path), *flags]) == 0
        return load_artifact(path)
    # one change at a time, against the same noise: an export is reproducible ...
    np.testing.assert_array_equal(export('again.ts').predict(obs(), noise), ema_actions)
    # ... the raw weights differ from the EMA ones at the same step count ...
    raw = export('raw.ts', '--no-ema')
    assert raw.meta['ema'] is False and raw.meta['num_inference_steps'] == 10
    assert not np.allclose(raw.predict(obs(), noise), ema_actions)
    # ... and the same EMA weights sample differently with fewer DDIM steps
    fewer = export('ema4.ts', '--num-inference-steps', '4')
    assert fewer.meta['ema'] is True and fewer.meta['num_inference_steps'] == 4
    assert not np.allclose(fewer.predict(obs(), noise), ema_actions)


def test_export_baseline(trained_runs):
    out = trained_runs / 'baseline.ts'
    assert main(['export', str(trained_runs / 'baseline'), '-o', str(out)]) == 0
    art = load_artifact(out)
    assert art.meta['kind'] == 'regression'
    a, b = art.predict(obs()), art.predict(obs(), np.ones((16, 2), np.float32))
    assert np.array_equal(a, b)                 # deterministic, noise ignored
    torch.jit.load(str(out))                    # plain TorchScript


def test_export_errors_are_one_line(trained_runs, tmp_path, capsys):
    assert main(['export', str(tmp_path / 'missing')]) == 1
    assert 'run directory not found' in capsys.readouterr().err
    (tmp_path / 'empty').mkdir()
    assert main(['export', str(tmp_path / 'empty')]) == 1
    assert 'not a training run directory' in capsys.readouterr().err
    bad = tmp_path / 'bad' / 'checkpoints'
    bad.mkdir(parents=True)
    (bad / 'latest.pt').write_bytes(b'\0' * 10)
    assert main(['export', str(tmp_path / 'bad')]) == 1
    err = capsys.readouterr().err
    assert 'corrupt' in err and len(err.strip().splitlines()) == 1


def test_train_errors_are_one_line(tmp_path, bimodal_dataset, capsys):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('optim: {lr: 0.1, warmup: 3}\n')
    assert main(['train', '--dataset', str(bimodal_dataset), '--config', str(bad),
                 '--out', str(tmp_path / 'r')]) == 1
    err = capsys.readouterr().err
    assert f'{bad}: optim.warmup: unknown key' in err
    assert main(['train', '--dataset', str(tmp_path / 'nope'), '--out', str(tmp_path / 'r')]) == 1
    assert 'nope' in capsys.readouterr().err


def test_export_bf16_form_beside_policy(trained_runs, capsys):
    from dil_ros.accel.forms import load_policy_form
    out = trained_runs / 'formed.ts'
    assert main(['export', str(trained_runs / 'diffusion'), '-o', str(out), '--forms', 'bf16',
                 '--device', 'cpu']) == 0
    assert 'bf16:' in capsys.readouterr().out
    form = load_policy_form(out, 'bf16', 'cpu')
    batch = {k: torch.from_numpy(v)[None] for k, v in obs().items()}
    noise = torch.randn(1, 16, 2, generator=torch.Generator().manual_seed(0))
    ref = load_artifact(out).module(batch, noise)
    assert form.path.name == 'formed.bf16.ts'
    assert torch.allclose(form(batch, noise), ref, atol=0.2)   # same policy, coarser numbers
    assert main(['export', str(trained_runs / 'diffusion'), '-o', str(out),
                 '--forms', 'int4']) == 1
    assert 'unknown int4' in capsys.readouterr().err
