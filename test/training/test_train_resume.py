"""Training runs, checkpoints atomically, and a resumed run equals an uninterrupted one."""
import math

import pytest
import torch

from dil_ros.training.checkpoint import CheckpointError, latest_path, load_checkpoint
from dil_ros.training.trainer import TrainError, train


@pytest.mark.parametrize('kind', ['diffusion', 'regression'])
def test_resume_equals_uninterrupted(tmp_path, bimodal_dataset, contract_2d, train_request,
                                     kind):
    full = train(train_request(bimodal_dataset, tmp_path / 'full', contract_2d, kind, steps=8))
    part = train(train_request(bimodal_dataset, tmp_path / 'part', contract_2d, kind, steps=8,
                               stop_at=5))
    assert part.step == 5
    resumed = train(train_request(bimodal_dataset, tmp_path / 'part', contract_2d, kind, steps=8,
                                  resume=True))
    a, b = load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint)
    assert a['step'] == b['step'] == 8
    for key, value in a['model'].items():
        assert torch.allclose(value, b['model'][key], atol=1e-6), key
    for key, value in a['ema']['model'].items():
        assert torch.allclose(value, b['ema']['model'][key], atol=1e-6), key
    assert a['ema']['optimization_step'] == b['ema']['optimization_step'] == 8
    assert a['lr_scheduler']['last_epoch'] == b['lr_scheduler']['last_epoch']
    assert math.isfinite(full.final_loss)
    assert resumed.final_loss == pytest.approx(full.final_loss, rel=1e-5)
    assert [h[0] for h in a['history']] == [h[0] for h in b['history']]


def test_run_dir_contents(tmp_path, bimodal_dataset, contract_2d, train_request):
    run = tmp_path / 'run'
    result = train(train_request(bimodal_dataset, run, contract_2d, steps=4))
    state = load_checkpoint(run)
    for key in ('model', 'ema', 'optimizer', 'lr_scheduler', 'rng', 'config', 'stats',
                'obs_dims', 'action_dim', 'contract', 'dataset_fingerprint'):
        assert key in state, key
    assert state['obs_dims'] == {'observation.environment_state': 2, 'observation.state': 2}
    assert state['contract']['name'] == 'bimodal_2d'
    assert (run / 'config.yaml').is_file() and (run / 'loss.png').is_file()
    assert any((run / 'tb').iterdir())
    assert not [p for p in (run / 'checkpoints').iterdir() if p.name.endswith('.tmp')]
    assert result.samples_per_s > 0
    with pytest.raises(TrainError, match='--resume'):
        train(train_request(bimodal_dataset, run, contract_2d, steps=4))
    with pytest.raises(TrainError, match='--baseline'):
        train(train_request(bimodal_dataset, run, contract_2d, kind='regression', steps=5,
                            resume=True))


def test_corrupt_and_missing_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match='not a training run'):
        load_checkpoint(tmp_path)
    path = latest_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='corrupt'):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize('amp', [True, False])
def test_mixed_precision_runs(tmp_path, bimodal_dataset, contract_2d, train_request, amp):
    """With amp the network computes in bf16 on the CPU (seen in its layers' outputs)."""
    dtypes = set()

    def record(module, args, output):
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)) and module.training:
            dtypes.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        result = train(train_request(bimodal_dataset, tmp_path / 'amp', contract_2d, steps=2,
                                     amp=amp, device='cpu'))
    finally:
        handle.remove()
    assert result.step == 2 and math.isfinite(result.final_loss)
    assert dtypes == ({torch.bfloat16} if amp else {torch.float32})


def test_resume_keeps_the_steps_given_on_the_command_line(tmp_path, bimodal_dataset, contract_2d,
                                                          train_request):
    run = tmp_path / 'run'
    train(train_request(bimodal_dataset, run, contract_2d, steps=4, stop_at=2))
    resumed = train(train_request(bimodal_dataset, run, contract_2d, steps=None, resume=True))
    assert resumed.step == 4
