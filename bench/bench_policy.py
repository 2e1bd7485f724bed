#!/usr/bin/env python3
"""Chunk latency of the diffusion policy: eager PyTorch vs the exported policy.ts.

One chunk = normalise, DDIM-N denoising loop, unnormalise, batch 1, mujoco_arm dims (2 x 3 obs,
3 actions, To=2, Tp=16). Variants run round-robin on the same observations and noise so that
load on a shared machine hits them alike; each also reports its max abs difference from eager.

- eager: DiffusionPolicy.forward in Python (the very module that is exported).
- eager-upstream-loop: Python loop calling ``unet.forward`` each step (PyTorch convolutions,
  FiLM recomputed each step), as upstream diffusion_policy samples.
- script: torch.jit.script, not frozen.
- policy.ts: the exported file (scripted + frozen) loaded with load_artifact.
- aoti (--aoti): torch.export + AOTInductor package of the same module (a C++ compiler and
  minutes of compile time per net); a candidate 'faster form' for the node, not policy.ts.

    .venv/bin/python bench/bench_policy.py --runs 50 [--json out.json]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch

from dil_ros.contract import resolve_contract
from dil_ros.policy.artifact import load_artifact
from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.policy.export import diffusion_metadata, export_policy

NETS = {'large': (256, 512, 1024), 'small': (64, 128, 256)}


def build(down_dims, steps: int, contract) -> DiffusionPolicy:
    torch.manual_seed(0)
    stats = {key: {'min': [-1.0] * dim, 'max': [1.0] * dim}
             for key, dim in {**contract.obs_dims, 'action': contract.action_dim}.items()}
    config = PolicyConfig(down_dims=down_dims, num_inference_steps=steps)
    return DiffusionPolicy(config, contract.obs_dims, contract.action_dim, stats).eval()


def upstream_loop(policy: DiffusionPolicy) -> Callable:
    """Eager reference shaped like Chi et al.'s predict_action: ``unet.forward`` every step."""
    def run(obs, noise):
        cond = policy.global_cond(policy.normalize_obs(obs))
        x = noise
        for i in range(policy.sampler.num_steps):
            x = policy.sampler.step(policy.model(x, policy.sampler.timesteps[i], cond), i, x)
        return policy.normalizer.unnormalize('action', x)
    return run


def aoti_variant(policy: DiffusionPolicy, obs, noise, workdir: Path) -> Callable:
    start = time.perf_counter()
    with torch.no_grad():
        program = torch.export.export(policy, (obs, noise))
    package = torch._inductor.aoti_compile_and_package(
        program, package_path=str(workdir / 'policy_aoti.pt2'))
    print(f'AOTInductor export + compile: {time.perf_counter() - start:.0f} s', file=sys.stderr)
    return torch._inductor.aoti_load_package(package)


def variants(policy: DiffusionPolicy, contract, workdir: Path,
             optimize: bool) -> Dict[str, Callable]:
    path = export_policy(policy, workdir / 'policy.ts',
                         diffusion_metadata(policy, contract, data_fingerprint='bench'))
    out = {
        'eager': policy,
        'eager-upstream-loop': upstream_loop(policy),
        'script': torch.jit.script(policy).eval(),
        'policy.ts': load_artifact(path).module,
    }
    if optimize:
        out['policy.ts+ofi'] = torch.jit.optimize_for_inference(load_artifact(path).module)
    return out


def measure(fns: Dict[str, Callable], obs, noise, runs: int, warmup: int) -> Dict[str, dict]:
    times: Dict[str, List[float]] = {name: [] for name in fns}
    cpu: Dict[str, List[float]] = {name: [] for name in fns}
    with torch.inference_mode():
        ref = fns['eager'](obs, noise)
        errors = {name: float((fn(obs, noise) - ref).abs().max()) for name, fn in fns.items()}
        for _ in range(warmup):
            for fn in fns.values():
                fn(obs, noise)
        for _ in range(runs):
            for name, fn in fns.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(obs, noise)
                cpu[name].append((time.process_time() - start_cpu) * 1e3)
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: {'median_ms': float(np.median(t)), 'p99_ms': float(np.percentile(t, 99)),
                   'cpu_median_ms': float(np.median(cpu[name])),
                   'cpu_p99_ms': float(np.percentile(cpu[name], 99)),
                   'max_abs_err_vs_eager': errors[name]} for name, t in times.items()}


def table(results: Dict[str, Dict[str, dict]], prefix: str = '') -> str:
    """Markdown: median / p99 per variant, then each variant's median speed-up over eager."""
    names = list(next(iter(results.values())))
    head = ['net'] + [f'{n} median / p99 (ms)' for n in names] + \
        [f'{n} vs eager' for n in names if n != 'eager']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    med, p99 = prefix + 'median_ms', prefix + 'p99_ms'
    for net, res in results.items():
        eager = res['eager'][med]
        cells = [net] + [f'{res[n][med]:.1f} / {res[n][p99]:.1f}' for n in names]
        cells += [f'{eager / res[n][med]:.2f}x' for n in names if n != 'eager']
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--steps', type=int, default=10, help='DDIM inference steps')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--nets', default='small,large', help=f'comma list of {sorted(NETS)}')
    parser.add_argument('--optimize-for-inference', action='store_true',
                        help='also time torch.jit.optimize_for_inference on policy.ts')
    parser.add_argument('--aoti', action='store_true',
                        help='also time an AOTInductor build (compiles for minutes per net)')
    parser.add_argument('--json', type=Path, help='also write the results here')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    contract = resolve_contract(None)
    torch.manual_seed(1)
    obs = {k: torch.rand(1, contract.n_obs_steps, d) * 2 - 1
           for k, d in contract.obs_dims.items()}
    noise = torch.randn(1, contract.horizon, contract.action_dim)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for net in args.nets.split(','):
            dims = NETS[net]
            policy = build(dims, args.steps, contract)
            fns = variants(policy, contract, Path(tmp), args.optimize_for_inference)
            if args.aoti:
                fns['aoti'] = aoti_variant(policy, obs, noise, Path(tmp))
            label = f'{net} {list(dims)} DDIM-{args.steps}'
            results[label] = measure(fns, obs, noise, args.runs, args.warmup)
            print(f'{label}: done', file=sys.stderr)
    print(f'torch {torch.__version__}, {args.threads} thread(s), batch 1, {args.runs} runs '
          f'(round-robin)\n')
    print('Wall clock:\n')
    print(table(results))
    print('\nCPU time of this process (less sensitive to other load on a shared machine):\n')
    print(table(results, 'cpu_'))
    print('\nmax abs difference from eager: ' + ', '.join(
        f'{net} {name} {r["max_abs_err_vs_eager"]:.1e}'
        for net, res in results.items() for name, r in res.items() if name != 'eager'))
    if args.json:
        args.json.write_text(json.dumps({'torch': torch.__version__, 'threads': args.threads,
                                         'runs': args.runs, 'results': results}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
