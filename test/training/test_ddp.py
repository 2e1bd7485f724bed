"""Multi-process training: torchrun with two CPU processes (gloo) runs DDP to a checkpoint."""
import subprocess
import sys

import yaml

from dil_ros.training.checkpoint import load_checkpoint


def test_torchrun_two_processes(tmp_path, bimodal_dataset, contract_2d):
    config = tmp_path / 'train.yaml'
    config.write_text(yaml.safe_dump({
        'train': {'steps': 4, 'batch_size': 16, 'checkpoint_every': 2, 'log_every': 2,
                  'device': 'cpu'},
        'policy': {'down_dims': [16, 32], 'diffusion_step_embed_dim': 16, 'kernel_size': 3},
    }))
    contract = tmp_path / 'contract.yaml'
    contract.write_text(yaml.safe_dump(contract_2d.to_mapping()))
    run_dir = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           '-m', 'dil_ros.cli.main', 'train', '--dataset', str(bimodal_dataset),
           '--config', str(config), '--contract', str(contract), '--out', str(run_dir),
           '--no-progress']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert 'x 2 process(es)' in proc.stdout
    state = load_checkpoint(run_dir)
    assert state['step'] == 4
    assert state['ema']['optimization_step'] == 4


def test_torchrun_ranks_stop_together_on_a_time_limit(tmp_path, bimodal_dataset, contract_2d):
    """Both ranks take rank 0's sizing and stop at the same step (no collective left waiting)."""
    config = tmp_path / 'train.yaml'
    config.write_text(yaml.safe_dump({
        'train': {'batch_size': 16, 'checkpoint_every': 10 ** 6, 'log_every': 5,
                  'device': 'cpu', 'cpu_threads': 1},
        'policy': {'down_dims': [16], 'diffusion_step_embed_dim': 16, 'kernel_size': 3},
    }))
    contract = tmp_path / 'contract.yaml'
    contract.write_text(yaml.safe_dump(contract_2d.to_mapping()))
    run_dir = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           '-m', 'dil_ros.cli.main', 'train', '--dataset', str(bimodal_dataset),
           '--config', str(config), '--contract', str(contract), '--out', str(run_dir),
           '--no-progress', '--steps', '100000', '--time-limit', '25s',
           '--val-episodes', '0.25']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    state = load_checkpoint(run_dir)
    assert 0 < state['step'] < 100000 and state['split']['val'] == [9, 10, 11]
    assert state['val_history'] and state['val_history'][-1][0] == state['step']
