"""Held-out episodes: a validation loss in TensorBoard, the summary and plot; kept on resume."""
import math

import pytest
import yaml

from dil_ros.cli.main import main
from dil_ros.data.lerobot import read_dataset
from dil_ros.training.checkpoint import load_checkpoint
from dil_ros.training.trainer import train


def _tags(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run_dir / 'tb'))
    acc.Reload()
    return {tag: [e.step for e in acc.Scalars(tag)] for tag in acc.Tags()['scalars']}


def test_validation_loss_is_logged_and_resume_keeps_the_split(tmp_path, bimodal_dataset,
                                                              contract_2d, train_request):
    def request(run, **kw):
        req = train_request(bimodal_dataset, tmp_path / run, contract_2d, steps=6, val_every=2,
                            checkpoint_every=10 ** 6, **kw)
        if not req.resume:
            req.val_episodes = '0.25'
        return req

    full = train(request('full'))
    assert full.split.val == (9, 10, 11) and full.split.train == tuple(range(9))
    assert [s for s, _ in full.val_history] == [2, 4, 6]
    assert full.val_loss == full.val_history[-1][1] and math.isfinite(full.val_loss)
    assert _tags(tmp_path / 'full')['val/loss'] == [2, 4, 6]
    state = load_checkpoint(full.checkpoint)
    assert state['split'] == {'train': list(range(9)), 'val': [9, 10, 11]}
    frames = sum(len(ep) for ep in read_dataset(bimodal_dataset).episodes[:9])
    assert state['stats']['action']['count'] == [frames]     # normaliser: training episodes

    part = train(request('part', stop_at=3))
    assert [s for s, _ in part.val_history] == [2, 3]        # and one at the stop
    resumed = train(request('part', resume=True))
    assert resumed.split == full.split
    assert resumed.val_history[-1][0] == 6
    assert resumed.val_loss == pytest.approx(full.val_loss, rel=1e-5)


def test_cli_prints_the_validation_loss(tmp_path, bimodal_dataset, contract_2d, capsys):
    (tmp_path / 'contract.yaml').write_text(yaml.safe_dump(contract_2d.to_mapping()))
    (tmp_path / 'train.yaml').write_text(
        'train: {steps: 2, batch_size: 8, checkpoint_every: 2, log_every: 1}\n'
        'policy: {down_dims: [16], diffusion_step_embed_dim: 16, kernel_size: 3}\n')
    args = ['train', '--dataset', str(bimodal_dataset), '--contract',
            str(tmp_path / 'contract.yaml'), '--config', str(tmp_path / 'train.yaml'),
            '--out', str(tmp_path / 'run'), '--no-progress']
    assert main(args + ['--episodes', '0:8', '--val-episodes', '8:12']) == 0
    out = capsys.readouterr().out
    assert 'of 8 episodes, 4 held out for validation' in out
    assert 'step 2, loss ' in out and ', validation loss ' in out
    assert main(args + ['--resume', '--val-episodes', '0.5']) == 0
    assert '--val-episodes ignored' in capsys.readouterr().out
    assert main(args[:-3] + ['--out', str(tmp_path / 'bad'), '--val-episodes', '0:12']) == 1
    assert 'leaves no episode to train on' in capsys.readouterr().err
