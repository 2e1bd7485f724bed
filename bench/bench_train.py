"""Training throughput: our training step (`dil_ros.training.train`) vs a plain eager loop.

Both train the same ConditionalUnet1D on the same batch size; the plain loop is the minimum any
trainer must do (forward, MSE, backward, AdamW step on ready-made tensors), ours adds what a real
run needs (batch selection, normaliser, DDPM noising, EMA, lr schedule, logging). Printed side by
side as samples/s and their ratio, for Chi's U-Net (256, 512, 1024) and a small one (64, 128, 256).

    .venv/bin/python bench/bench_train.py [--steps 30] [--batch-size 256] [--device auto]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dil_ros.contract import contract_from_mapping
from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import write_dataset
from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.training.config import run_config_from_mapping
from dil_ros.training.distributed import DistInfo, resolve_device
from dil_ros.training.trainer import TrainRequest, train

OBS_DIM, ACTION_DIM = 20, 2      # Push-T low-dim sizes (Chi et al.)


def contract():
    return contract_from_mapping({
        'name': 'bench', 'rate_hz': 10.0, 'n_obs_steps': 2, 'horizon': 16, 'n_action_steps': 8,
        'observations': {'observation.state': {
            'topic': '/s', 'type': 'std_msgs/msg/Float64MultiArray',
            'fields': [f'data[{i}]' for i in range(OBS_DIM)]}},
        'action': {'joints': ['x', 'y']},
        'teleop': {'topic': '/c', 'type': 'std_msgs/msg/Float64MultiArray'},
        'limits': {j: {'lower': -10.0, 'upper': 10.0, 'max_velocity': 100.0} for j in 'xy'}},
        '<bench>')


def make_dataset(root: Path) -> Path:
    rng = np.random.default_rng(0)
    episodes = [Episode(observations={'observation.state': rng.standard_normal((200, OBS_DIM))},
                        action=rng.standard_normal((200, ACTION_DIM)),
                        timestamps=np.arange(200) / 10.0) for _ in range(20)]
    return write_dataset(root / 'data', episodes, fps=10.0)


def ours(dataset: Path, root: Path, down_dims, batch: int, steps: int, device: str) -> float:
    config = run_config_from_mapping({
        'train': {'steps': steps, 'batch_size': batch, 'log_every': 10, 'device': device,
                  'checkpoint_every': 10 ** 6},
        'policy': {'down_dims': list(down_dims)}}, '<bench>')
    result = train(TrainRequest(dataset=dataset, run_dir=root / f'run_{down_dims[0]}',
                                config=config, contract=contract(), steps=steps, progress=False))
    return result.samples_per_s


def eager(down_dims, batch: int, steps: int, device: str) -> float:
    dev = resolve_device(device, DistInfo())
    stats = {'observation.state': {'min': [-3.0] * OBS_DIM, 'max': [3.0] * OBS_DIM},
             'action': {'min': [-3.0] * ACTION_DIM, 'max': [3.0] * ACTION_DIM}}
    policy = DiffusionPolicy(PolicyConfig(down_dims=tuple(down_dims)),
                             {'observation.state': OBS_DIM}, ACTION_DIM, stats).to(dev)
    model = policy.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 16, ACTION_DIM, device=dev)
    cond = torch.randn(batch, 2 * OBS_DIM, device=dev)
    warm = min(5, steps // 5)
    for i in range(steps + warm):
        if i == warm:
            if dev.type == 'cuda':
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        noise = torch.randn_like(x)
        t = torch.randint(0, 100, (batch,), device=dev)
        loss = F.mse_loss(model(x + noise, t, global_cond=cond), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--device', default='auto')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = make_dataset(Path(tmp))
        rows = []
        for dims in ((256, 512, 1024), (64, 128, 256)):
            plain = eager(dims, args.batch_size, args.steps, args.device)
            mine = ours(dataset, Path(tmp), dims, args.batch_size, args.steps, args.device)
            rows.append((dims, mine, plain))
    device = resolve_device(args.device, DistInfo())
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'training samples/s, batch {args.batch_size}, {args.steps} timed steps, {name}')
    print(f'{"down_dims":>18s} {"dil_ros":>10s} {"plain eager":>12s} {"ratio":>7s}')
    for dims, mine, plain in rows:
        print(f'{str(list(dims)):>18s} {mine:10.0f} {plain:12.0f} {mine / plain:7.2f}')


if __name__ == '__main__':
    main()
