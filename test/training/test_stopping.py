"""Runs that stop early: a wall-clock budget and Ctrl+C, each leaving a checkpoint and a plot."""
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from dil_ros.errors import DilRosError
from dil_ros.training.checkpoint import latest_path, load_checkpoint
from dil_ros.training.stopping import parse_duration
from dil_ros.training.trainer import train


@pytest.mark.parametrize('text, seconds', [('90', 90), ('90s', 90), ('20m', 1200),
                                           ('1.5h', 5400), ('1h30m', 5400), (' 2m 30s', 150)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize('text', ['', '20x', 'm', '0', '-5m', '20m5'])
def test_bad_durations_name_the_option(text):
    with pytest.raises(DilRosError, match='--time-limit'):
        parse_duration(text)


def test_time_limit_stops_with_a_checkpoint_and_sizes_the_schedule(tmp_path, bimodal_dataset,
                                                                   contract_2d, train_request,
                                                                   capsys):
    req = train_request(bimodal_dataset, tmp_path / 'run', contract_2d, steps=100000,
                        checkpoint_every=10 ** 6, log_every=10)
    req.time_limit_s = 6.0
    t0 = time.monotonic()
    result = train(req)
    assert time.monotonic() - t0 < 40        # 100000 steps would take hours
    assert result.stopped in (None, 'time limit')   # sized to end in time, or cut at the limit
    state = load_checkpoint(result.checkpoint)
    assert 10 < state['step'] == result.step < 100000
    # the schedule was resized to the steps that fit: the run's config says how many
    sized = state['config']['train']['steps']
    assert state['time_sized'] and result.step <= sized < 100000
    assert f'lr schedule now ends at step {sized}' in capsys.readouterr().out
    assert state['lr_scheduler']['last_epoch'] == result.step
    assert (tmp_path / 'run' / 'loss.png').is_file()
    assert yaml.safe_load((tmp_path / 'run' / 'config.yaml').read_text())['train']['steps'] \
        == sized


def test_spent_budget_stops_after_one_step(tmp_path, bimodal_dataset, contract_2d,
                                           train_request):
    """A budget spent before the pace is known still stops the run, with a checkpoint."""
    req = train_request(bimodal_dataset, tmp_path / 'run', contract_2d, steps=100000,
                        checkpoint_every=10 ** 6)
    req.time_limit_s = 0.01
    result = train(req)
    assert result.stopped == 'time limit' and result.step == 1
    assert load_checkpoint(result.checkpoint)['step'] == 1


def test_ctrl_c_saves_a_checkpoint_and_the_plot(tmp_path, bimodal_dataset, contract_2d):
    """SIGINT to `dil-ros train` after its first checkpoint: a clean stop, not a traceback."""
    (tmp_path / 'contract.yaml').write_text(yaml.safe_dump(contract_2d.to_mapping()))
    (tmp_path / 'train.yaml').write_text(yaml.safe_dump({
        'train': {'batch_size': 16, 'checkpoint_every': 2, 'log_every': 2, 'cpu_threads': 1},
        'policy': {'down_dims': [16], 'diffusion_step_embed_dim': 16, 'kernel_size': 3}}))
    run = tmp_path / 'run'
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'dil_ros.cli.main', 'train', '--dataset', str(bimodal_dataset),
         '--contract', str(tmp_path / 'contract.yaml'), '--config', str(tmp_path / 'train.yaml'),
         '--out', str(run), '--steps', '1000000', '--no-progress'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not latest_path(run).exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, 'no checkpoint within 120 s'
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out
    assert 'Traceback' not in out
    state = load_checkpoint(run)
    assert f'interrupted at step {state["step"]}; continue with --resume' in out
    assert f'step {state["step"]}, loss ' in out and 'checkpoint: ' in out
    assert 2 <= state['step'] < 1000000
    assert (run / 'loss.png').is_file()


def test_checkpoints_by_the_clock(tmp_path, bimodal_dataset, contract_2d, train_request,
                                  monkeypatch):
    """Slow steps (Chi's U-Net on a CPU) still leave checkpoints every few minutes."""
    from dil_ros.training import loop
    from dil_ros.training.config import config_dir, load_run_config
    assert load_run_config(config_dir() / 'train_default.yaml').train.checkpoint_minutes <= 10
    saved = []
    real = loop.save_atomic
    monkeypatch.setattr(loop, 'save_atomic', lambda state, path: (saved.append(state['step']),
                                                                   real(state, path))[1])
    train(train_request(bimodal_dataset, tmp_path / 'run', contract_2d, steps=4,
                        checkpoint_every=10 ** 6, checkpoint_minutes=1e-9))
    assert saved == [1, 2, 3, 4]
    saved.clear()
    train(train_request(bimodal_dataset, tmp_path / 'run2', contract_2d, steps=4,
                        checkpoint_every=10 ** 6, checkpoint_minutes=60.0))
    assert saved == [4]
