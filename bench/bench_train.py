"""Training throughput: our training step (`dil_ros.training.train`) in each speed setting vs a
plain eager loop.

Every row trains the same ConditionalUnet1D at the same batch size through the real
``train()`` (batch selection, normaliser, DDPM noising, EMA, lr schedule, logging); the rows differ
only in the speed keys of dil_ros/training/speed.py:

    today    optim.impl for-loop, no autocast, no compile (the step before issue 14)
    foreach  optim.impl foreach            fused    optim.impl fused (the default, `auto`)
    bf16     train.amp (bf16 autocast)     compile  train.compile (torch.compile of the loss)
    fused_bf16  fused + bf16 (train.amp: true on top of the defaults): the fastest on our CPU
    fused_compile  fused + compile         all      fused + bf16 + compile
    autotune    all with train.compile_mode max-autotune-no-cudagraphs

``plain`` is the minimum any trainer must do (forward, MSE, backward, AdamW step on ready-made
tensors). Variants run interleaved in ``--rounds`` rounds (today, foreach, ..., then backwards) and
the best round of each is kept. Each row gives the mean rate and the rate of the fastest step; on
a CPU shared with other jobs the fastest step is the steadier figure and ``vs today`` compares
those (on CUDA, where steps run asynchronously, the mean rates). The first steps (warm-up: with
``compile`` the compilation and any recompilation) are left out of both, so compiled rows give the
steady pace; the first step's seconds (the compile time) are printed apart. Inductor caches what it
compiled (in $TORCHINDUCTOR_CACHE_DIR, default /tmp/torchinductor_$USER), so a second run compiles
in seconds; ``--cold-compile`` points the cache at a fresh folder to time a first compile.

    .venv/bin/python bench/bench_train.py [--steps 10] [--batch-size 256] [--threads 1,2]
        [--nets small,chi] [--variants today,fused,bf16,fused_bf16] [--device auto] [--json F]
        [--cold-compile]

The compiled variants are left out of the default ones: on our loaded 2-core CPU a cold compile
took 7-12 minutes and the steady compiled step was slower than the eager one. Issue 14's CPU
figure (docs/benchmarks.md, c): --threads 1 --steps 10 --rounds 2
--variants today,fused,fused_bf16,fused_compile,all. On a GPU (bench/gpu_check.sh): --device cuda
--nets small,chi --threads 0 --batch-size 256 --variants today,fused,bf16,fused_bf16,compile,all.
"""
import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

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
NETS = {'small': (64, 128, 256), 'chi': (256, 512, 1024), 'tiny': (16, 32)}
VARIANTS: Dict[str, dict] = {
    'today': {'optim': {'impl': 'for-loop'}},
    'foreach': {'optim': {'impl': 'foreach'}},
    'fused': {'optim': {'impl': 'fused'}},
    'bf16': {'optim': {'impl': 'for-loop'}, 'train': {'amp': True}},
    'compile': {'optim': {'impl': 'for-loop'}, 'train': {'compile': True}},
    'fused_bf16': {'optim': {'impl': 'fused'}, 'train': {'amp': True}},
    'fused_compile': {'optim': {'impl': 'fused'}, 'train': {'compile': True}},
    'all': {'optim': {'impl': 'fused'}, 'train': {'amp': True, 'compile': True}},
    'autotune': {'optim': {'impl': 'fused'},
                 'train': {'amp': True, 'compile': True,
                           'compile_mode': 'max-autotune-no-cudagraphs'}},
}
SUITE_VARIANTS = ('today', 'fused', 'fused_bf16')   # suite section c: today, default, + bf16


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


def run_ours(dataset: Path, root: Path, down_dims, batch: int, steps: int, device: str,
             variant: str = 'fused', threads: int = 0):
    """One train() run of ``variant``: its TrainResult (samples/s leaves the first step out)."""
    extra = VARIANTS[variant]
    config = run_config_from_mapping({
        'train': {'steps': steps + 1, 'batch_size': batch, 'log_every': 10, 'device': device,
                  'checkpoint_every': 10 ** 6, 'cpu_threads': threads, **extra.get('train', {})},
        'optim': extra.get('optim', {}),
        'policy': {'down_dims': list(down_dims)}}, '<bench>')
    run_dir = Path(tempfile.mkdtemp(prefix=f'run_{variant}_', dir=root))
    with contextlib.redirect_stdout(io.StringIO()):     # train()'s own log lines
        return train(TrainRequest(dataset=dataset, run_dir=run_dir, config=config,
                                  contract=contract(), steps=steps + 1, progress=False))


def ours(dataset: Path, root: Path, down_dims, batch: int, steps: int, device: str,
         variant: str = 'fused', threads: int = 0) -> float:
    """samples/s of one train() run (suite.py section c calls this)."""
    return run_ours(dataset, root, down_dims, batch, steps, device, variant,
                    threads).samples_per_s


def eager(down_dims, batch: int, steps: int, device: str, threads: int = 0,
          best: bool = False) -> float:
    """samples/s of the plain loop over ``steps`` steps (``best``: of its fastest step)."""
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device, DistInfo())
    stats = {'observation.state': {'min': [-3.0] * OBS_DIM, 'max': [3.0] * OBS_DIM},
             'action': {'min': [-3.0] * ACTION_DIM, 'max': [3.0] * ACTION_DIM}}
    policy = DiffusionPolicy(PolicyConfig(down_dims=tuple(down_dims)),
                             {'observation.state': OBS_DIM}, ACTION_DIM, stats).to(dev)
    model = policy.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 16, ACTION_DIM, device=dev)
    cond = torch.randn(batch, 2 * OBS_DIM, device=dev)
    warm = max(1, min(5, steps // 5))
    fastest = float('inf')
    for i in range(steps + warm):
        if i == warm:
            if dev.type == 'cuda':
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        t_step = time.perf_counter()
        noise = torch.randn_like(x)
        t = torch.randint(0, 100, (batch,), device=dev)
        loss = F.mse_loss(model(x + noise, t, global_cond=cond), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warm:
            fastest = min(fastest, time.perf_counter() - t_step)
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    return batch / fastest if best else steps * batch / (time.perf_counter() - t0)


def measure(nets, variants, threads_list, batch: int, steps: int, rounds: int, device: str,
            say=print) -> list:
    """Rows {net, batch, threads, variant, samples_s (mean rate), best_step_samples_s (fastest
    step: on a shared CPU the steadier figure), vs_today (of the fastest steps; of the mean
    rates on CUDA, where steps run asynchronously), first_step_s}: the best of ``rounds``."""
    rows = []
    cuda = resolve_device(device, DistInfo()).type == 'cuda'
    with tempfile.TemporaryDirectory() as tmp:
        dataset = make_dataset(Path(tmp))
        for net in nets:
            for threads in threads_list:
                mean: Dict[str, float] = {}
                fast: Dict[str, float] = {}
                first: Dict[str, Optional[float]] = {}
                for r in range(rounds):
                    order = list(variants) + ['plain']
                    for variant in order if r % 2 == 0 else order[::-1]:
                        if variant == 'plain':
                            value = eager(NETS[net], batch, steps, device, threads)
                            quick = eager(NETS[net], batch, 3, device, threads, best=True)
                        else:
                            result = run_ours(dataset, Path(tmp), NETS[net], batch, steps,
                                              device, variant, threads)
                            value, quick = result.samples_per_s, result.best_samples_per_s
                            first.setdefault(variant, result.first_step_s)
                        mean[variant] = max(mean.get(variant, 0.0), value)
                        fast[variant] = max(fast.get(variant, 0.0), quick or 0.0)
                        say(f'  {net} batch {batch} {threads} thread(s) round {r + 1}: '
                            f'{variant} {value:.1f} samples/s (fastest step {quick:.1f})',
                            flush=True)
                ref = mean if cuda else fast
                for variant in list(variants) + ['plain']:
                    rows.append({'net': net, 'down_dims': list(NETS[net]), 'batch': batch,
                                 'threads': threads, 'variant': variant,
                                 'samples_s': round(mean[variant], 1),
                                 'best_step_samples_s': round(fast[variant], 1),
                                 'vs_today': (round(ref[variant] / ref['today'], 2)
                                              if ref.get('today') else None),
                                 'first_step_s': (round(first[variant], 1)
                                                  if first.get(variant) is not None else None)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=10, help='timed steps per run')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--threads', default='1,2', help='torch CPU threads (0: default)')
    parser.add_argument('--nets', default='small', help=f'comma list of {sorted(NETS)}')
    parser.add_argument('--variants', default='today,fused,bf16,fused_bf16',
                        help=f'comma list of {list(VARIANTS)}')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--device', default='auto')
    parser.add_argument('--json', type=Path, help='write the rows here')
    parser.add_argument('--cold-compile', action='store_true',
                        help='compile into a fresh inductor cache (times a first compile)')
    args = parser.parse_args()
    if args.cold_compile:
        os.environ['TORCHINDUCTOR_CACHE_DIR'] = tempfile.mkdtemp(prefix='inductor_cold_')
    variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f'--variants: unknown {unknown}; choose from {list(VARIANTS)}')
    nets = [n.strip() for n in args.nets.split(',') if n.strip()]
    threads = [int(t) for t in args.threads.split(',')]
    rows = measure(nets, variants, threads, args.batch_size, args.steps, args.rounds,
                   args.device)
    device = resolve_device(args.device, DistInfo())
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    load = ', load average %.1f %.1f %.1f' % os.getloadavg() if hasattr(os, 'getloadavg') else ''
    print(f'training samples/s, batch {args.batch_size}, {args.steps} timed steps, best of '
          f'{args.rounds} interleaved rounds, {name}{load}')
    print(f'{"net":>6s} {"threads":>7s} {"variant":>13s} {"samples/s":>10s} '
          f'{"best step":>10s} {"vs today":>9s} {"1st step s":>10s}')
    for r in rows:
        vs = f'{r["vs_today"]:.2f}' if r['vs_today'] is not None else '-'
        first = f'{r["first_step_s"]:.1f}' if r['first_step_s'] is not None else '-'
        print(f'{r["net"]:>6s} {r["threads"]:>7d} {r["variant"]:>13s} {r["samples_s"]:10.1f} '
              f'{r["best_step_samples_s"]:10.1f} {vs:>9s} {first:>10s}')
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
