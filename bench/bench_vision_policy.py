#!/usr/bin/env python3
"""Chunk latency of a diffusion policy with cameras: eager vs policy.ts vs bf16, batch 1.

One chunk = resize/crop/normalise each camera's uint8 frames, the ResNet-18 encoder (GroupNorm,
spatial softmax) per camera and step, then DDIM-N over the small U-Net (64, 128, 256), on the
mujoco_arm contract with one or two 96x96 cameras cropped to 84x84 (To = 2: two frames per
camera). Frames come at 96x96 (no resize) or at a native 480x640 (``--native``), as a camera
driver sends them. Encoder widths: base_width 16 (config/train_vision_small.yaml) and 64 (Chi's
ResNet-18). Variants run round-robin on the same inputs; each reports its max abs difference
from eager.

    .venv/bin/python bench/bench_vision_policy.py [--runs 20] [--threads 1] [--json out.json]
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dil_ros.accel.precision import reduced_precision_policy
from dil_ros.accel.synthetic import SMALL, camera_contract, export_synthetic, synthetic_policy
from dil_ros.policy.artifact import load_artifact
from dil_ros.policy.export import script_policy
from dil_ros.policy.vision_encoder import VisionConfig


def inputs(policy, native, seed=1):
    gen = torch.Generator().manual_seed(seed)
    obs = {k: torch.rand(1, policy.n_obs_steps, d, generator=gen) * 2 - 1
           for k, d in policy.obs_dims.items()}
    for cam in policy.cameras:
        size = native or (cam.height, cam.width)
        obs[cam.key] = torch.randint(0, 256, (1, policy.n_obs_steps, *size, 3), generator=gen,
                                     dtype=torch.uint8)
    return obs, torch.randn(1, policy.horizon, policy.action_dim, generator=gen)


def measure(cameras, width, steps, runs, native, workdir):
    contract = camera_contract(cameras, size=96, crop=84)
    policy = synthetic_policy(SMALL, steps, contract=contract,
                              vision=VisionConfig(base_width=width))
    path = export_synthetic(policy, Path(workdir) / f'policy_{cameras}_{width}.ts', contract)
    variants = {'eager': policy, 'policy.ts': load_artifact(path).module,
                'bf16': script_policy(reduced_precision_policy(policy, 'bf16'))}
    obs, noise = inputs(policy, native)
    times = {name: [] for name in variants}
    with torch.inference_mode():
        reference = policy(obs, noise)
        errors = {name: float((fn(obs, noise) - reference).abs().max())
                  for name, fn in variants.items()}
        for _ in range(2):   # warm-up
            for fn in variants.values():
                fn(obs, noise)
        for _ in range(runs):
            for name, fn in variants.items():
                start = time.perf_counter()
                fn(obs, noise)
                times[name].append(1e3 * (time.perf_counter() - start))
    params = sum(p.numel() for p in policy.parameters())
    return {name: {'cameras': cameras, 'base_width': width, 'params_M': round(params / 1e6, 2),
                   'median_ms': round(statistics.median(t), 1),
                   'p90_ms': round(sorted(t)[int(0.9 * (len(t) - 1))], 1),
                   'max_abs_err_vs_eager': errors[name]} for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--steps', type=int, default=10, help='DDIM steps')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--widths', default='16,64')
    parser.add_argument('--native', action='store_true', help='frames at 480x640 (resized)')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    native = (480, 640) if args.native else None
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for width in (int(w) for w in args.widths.split(',')):
            for cameras in (1, 2):
                name = f'{cameras} camera(s), base_width {width}'
                results[name] = measure(cameras, width, args.steps, args.runs, native, tmp)
                for variant, row in results[name].items():
                    print(f'{name}: {variant:9s} {row["median_ms"]:7.1f} ms median, '
                          f'p90 {row["p90_ms"]:7.1f} ms, err {row["max_abs_err_vs_eager"]:.1e}',
                          flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
