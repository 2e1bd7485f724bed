#!/usr/bin/env python3
"""Chunk latency of a diffusion policy with cameras: eager vs policy.ts vs faster forms, batch 1.

One chunk = resize/crop/normalise each camera's uint8 frames, the ResNet-18 encoder (GroupNorm,
spatial softmax) per camera and step, then DDIM-N over the small U-Net (64, 128, 256), on the
mujoco_arm contract with one or two 96x96 cameras cropped to 84x84 (To = 2: two frames per
camera). Frames come at 96x96 (no resize) or at a native 480x640 (``--native``), as a camera
driver sends them. Encoder widths: base_width 16 (config/train_vision_small.yaml) and 64 (Chi's
ResNet-18).

Forms (``--forms``): eager, torchscript (the exported policy.ts file), bf16, fp16 and cuda_graph
(GPU only, skipped on a CPU), aot (AOTInductor with dynamic frame sizes, compiled here: minutes
per configuration on a CPU, so only for the encoder widths in ``--aot-widths``). All forms of
one configuration run round-robin on the same inputs and noise; each reports its max abs
difference from eager and whether it is within parity.TOLERANCE of policy.ts.

    .venv/bin/python bench/bench_vision_policy.py [--runs 20] [--threads 1] [--json out.json]
        [--forms eager,torchscript,bf16,aot] [--device cuda] [--cameras 1,2] [--widths 16,64]
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from dil_ros.accel.device import resolve_device
from dil_ros.accel.forms import build_form
from dil_ros.accel.parity import TOLERANCE, action_range
from dil_ros.accel.synthetic import SMALL, camera_contract, export_synthetic, synthetic_policy
from dil_ros.accel.timing import time_round_robin
from dil_ros.policy.artifact import load_artifact
from dil_ros.policy.vision_encoder import VisionConfig

GPU_ONLY = ('cuda_graph', 'fp16')


def inputs(policy, native, device, seed=1):
    gen = torch.Generator().manual_seed(seed)
    obs = {k: torch.rand(1, policy.n_obs_steps, d, generator=gen) * 2 - 1
           for k, d in policy.obs_dims.items()}
    for cam in policy.cameras:
        size = native or (cam.height, cam.width)
        obs[cam.key] = torch.randint(0, 256, (1, policy.n_obs_steps, *size, 3), generator=gen,
                                     dtype=torch.uint8)
    noise = torch.randn(1, policy.horizon, policy.action_dim, generator=gen)
    return {k: v.to(device) for k, v in obs.items()}, noise.to(device)


def measure(cameras, width, args, device, workdir, notes):
    """{form: row} for one configuration; a form that fails to build gets an 'error' row."""
    contract = camera_contract(cameras, size=96, crop=84)
    policy = synthetic_policy(SMALL, args.steps, contract=contract,
                              vision=VisionConfig(base_width=width))
    tag = f'{cameras}cam_w{width}'
    path = export_synthetic(policy, Path(workdir) / f'policy_{tag}.ts', contract)
    policy = policy.to(device)
    obs, noise = inputs(policy, args.native, device)
    reference = load_artifact(path, device=str(device)).module        # policy.ts itself
    bound = action_range(policy)
    base = {'cameras': cameras, 'base_width': width, 'device': str(device),
            'frames': list(obs[policy.cameras[0].key].shape[2:4]),
            'params_M': round(sum(p.numel() for p in policy.parameters()) / 1e6, 2)}
    rows, built = {}, {}
    with torch.inference_mode():
        eager_out = policy(obs, noise).float()
        ts_out = reference(obs, noise).float()
    for form in args.forms:
        if form in GPU_ONLY and device.type != 'cuda' or \
                form == 'aot' and width not in args.aot_widths:
            continue
        row = rows[form] = dict(base)
        start = time.perf_counter()
        try:
            if form == 'eager':
                fn = policy
            elif form == 'torchscript':
                fn = reference
            else:
                fn = build_form(policy, form, device, obs, noise, workdir=Path(workdir) / tag)
            row['build_s'] = round(time.perf_counter() - start, 1)
            with torch.inference_mode():
                out = fn(obs, noise).float()
            row['max_abs_err_vs_eager'] = float((out - eager_out).abs().max())
            row['parity_ok'] = float((out - ts_out).abs().max()) <= \
                TOLERANCE.get(form, TOLERANCE['torchscript']) * bound
            built[form] = fn
        except Exception as exc:  # noqa: BLE001 - one failing form must not end the table
            row['error'] = f'{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}'
            print(f'f: {tag} {form}: {row["error"]}', flush=True)
    timed = time_round_robin({f: (lambda fn=fn: fn(obs, noise)) for f, fn in built.items()},
                             device, args.runs, 2) if built else {}
    eager_ms = timed.get('eager', {}).get('median_ms')
    for form, stats in timed.items():
        rows[form].update({k: round(v, 2) if isinstance(v, float) else v
                           for k, v in stats.items()})
        if eager_ms:
            rows[form]['speedup_vs_eager'] = round(eager_ms / stats['median_ms'], 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--steps', type=int, default=10, help='DDIM steps')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (0: default)')
    parser.add_argument('--widths', default='16,64')
    parser.add_argument('--cameras', default='1,2')
    parser.add_argument('--forms', default='eager,torchscript,bf16',
                        help='eager, torchscript, bf16, fp16, cuda_graph, aot (fp16 and '
                             'cuda_graph on a GPU only)')
    parser.add_argument('--aot-widths', default='16',
                        help='encoder widths that get an aot form (one compile each)')
    parser.add_argument('--device', default='cpu', help='cpu | cuda | cuda:N | auto')
    parser.add_argument('--native', action='store_true', help='frames at 480x640 (resized)')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.native = (480, 640) if args.native else None
    args.forms = [f.strip() for f in args.forms.split(',') if f.strip()]
    args.aot_widths = [int(w) for w in args.aot_widths.split(',') if w.strip()]
    device, message = resolve_device(args.device)
    notes = [message, f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), '
                      f'DDIM-{args.steps}, batch 1, {args.runs} round-robin calls']
    skipped = [f for f in args.forms if f in GPU_ONLY and device.type != 'cuda']
    if skipped:
        notes.append(f'{", ".join(skipped)}: GPU only, not run on {device}')
    if 'aot' in args.forms:
        notes.append(f'aot compiled for encoder widths {args.aot_widths} only')
    print('\n'.join(f'f: {n}' for n in notes), flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for width in (int(w) for w in args.widths.split(',')):
            for cameras in (int(c) for c in args.cameras.split(',')):
                name = f'{cameras} camera(s), base_width {width}'
                results[name] = measure(cameras, width, args, device, tmp, notes)
                for variant, row in results[name].items():
                    if 'median_ms' in row:
                        print(f'{name}: {variant:11s} {row["median_ms"]:7.1f} ms median, '
                              f'p99 {row["p99_ms"]:7.1f} ms, err {row["max_abs_err_vs_eager"]:.1e}'
                              f'{"" if row["parity_ok"] else " (OUT OF PARITY)"}', flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failed = [f'{n}: {f}' for n, rows in results.items() for f, r in rows.items()
              if 'error' in r or not r.get('parity_ok')]
    if failed:
        print('f: failed or out of parity: ' + '; '.join(failed), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    raise SystemExit(main())
