"""A distilled student (dil-ros distill) vs its DDIM teacher: chunk latency, success, both modes.

Latency: the teacher and every student policy.ts on the same observations, round-robin in one
process (a shared CPU loads them alike), batch 1. Success and modes: the closed loop of
bench_handover.py (policy_node's controller against the MuJoCo arm in simulated time, hand-over
``crossfade``, no extra delay) on the same unseen episodes for all, each episode's sampler noise
seeded by its episode seed (run_episode), so two policies differ by the policy, not by the draws;
tip paths of all in one trajectories.png (one panel each). Several students (e.g. one exported at
2 and at 1 step) go side by side in one run: ``--student A.ts B.ts``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_student.py \
        --teacher runs/demo/policy.ts \
        --student runs/student2/student2_12000.ts runs/student2/student1_12000.ts \
        --episodes 100 --runs 1000 --out runs/student2/bench
"""
import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_handover import load, Policy, run_episode, SEED_BASE  # noqa: E402


def latency(modules, runs: int, contract):
    """p50/p99 ms per module, round-robin on the same random observations."""
    g = torch.Generator().manual_seed(0)
    times = {name: [] for name in modules}
    for i in range(runs + 3):
        obs = {k: torch.rand(1, contract.n_obs_steps, d, generator=g)
               for k, d in contract.obs_dims.items()}
        for name, module in modules.items():
            t = time.perf_counter()
            with torch.inference_mode():
                module(obs, None)
            if i >= 3:                                   # TorchScript's first runs optimise
                times[name].append((time.perf_counter() - t) * 1e3)
    return {name: {'p50_ms': float(np.median(v)), 'p99_ms': float(np.percentile(v, 99))}
            for name, v in times.items()}


def students(paths):
    """name -> module: 'student' for one; for several, each file's stem (with its folder where
    stems repeat, e.g. runs/a/policy.ts and runs/b/policy.ts)."""
    if len(paths) == 1:
        return {'student': load(paths[0])[0]}
    stems = [Path(p).stem for p in paths]
    names = [s if stems.count(s) == 1 else f'{Path(p).parent.name}/{s}'
             for p, s in zip(paths, stems)]
    if len(set(names)) < len(names):
        raise SystemExit(f'bench_student: --student: the same file twice? {paths}')
    return {name: load(path)[0] for name, path in zip(names, paths)}


def main(argv=None) -> int:
    from dil_ros.demo.plots import mode_split, plot_paths
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--teacher', default='runs/demo/policy.ts')
    parser.add_argument('--student', nargs='+', default=['runs/demo/student.ts'],
                        help='the student policy.ts (dil-ros demo --student writes this one); '
                             'several: side by side, named by their file names')
    parser.add_argument('--episodes', type=int, default=50)
    parser.add_argument('--teacher-episodes', type=int, default=None,
                        help='closed-loop episodes of the teacher (default: --episodes; 0: skip)')
    parser.add_argument('--runs', type=int, default=200, help='latency samples per policy')
    parser.add_argument('--base-latency-ms', type=float, default=15.0)
    parser.add_argument('--out', type=Path, default=Path('runs/student'))
    parser.add_argument('--json', type=Path, default=None, help='also write the result here')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in (args.teacher, *args.student):
        if not Path(path).is_file():
            print(f'bench_student: {path}: not found (dil-ros demo --student 1 makes both)',
                  file=sys.stderr)
            return 1
    teacher, contract = load(args.teacher)
    modules = {'teacher': teacher}
    modules.update(students(args.student))
    from dil_ros.policy.artifact import load_artifact
    steps = {name: int(load_artifact(path).meta['num_inference_steps'])
             for name, path in zip(modules, (args.teacher, *args.student))}
    args.out.mkdir(parents=True, exist_ok=True)
    result = {'latency': latency(modules, args.runs, contract), 'speedup_p50': {}}
    lat = result['latency']
    for name in list(modules)[1:]:
        result['speedup_p50'][name] = lat['teacher']['p50_ms'] / lat[name]['p50_ms']
        print(f"latency p50 teacher {lat['teacher']['p50_ms']:.2f} ms, {name} "
              f"{lat[name]['p50_ms']:.2f} ms: {result['speedup_p50'][name]:.1f}x", flush=True)
    paths = {}
    runs = {name: args.episodes for name in modules}
    if args.teacher_episodes is not None:
        runs['teacher'] = args.teacher_episodes
    for name, module in modules.items():
        if not runs[name]:
            continue
        policy, statuses, paths[name] = Policy(module), [], []
        for k in range(runs[name]):
            r = run_episode(policy, contract, 'crossfade', args.base_latency_ms / 1e3,
                            SEED_BASE + k)
            statuses.append(r['status'])
            paths[name].append(r['path'])
        result[name] = {'episodes': runs[name],
                        'sampling_steps': steps[name],
                        'success_rate': statuses.count('success') / runs[name],
                        'statuses': {s: statuses.count(s) for s in sorted(set(statuses))},
                        'modes': mode_split(paths[name])}
        print(f"{name}: success {result[name]['success_rate']:.1%}, {result[name]['modes']}",
              flush=True)
    label = {n: f'{n}, {steps[n]} step{"s" * (steps[n] > 1)} ({result[n]["success_rate"]:.1%})'
             for n in paths}
    plot_paths({label[n]: p for n, p in paths.items()},
               args.out / 'trajectories.png',
               f'teacher (DDIM) vs distilled student, {args.episodes} unseen seeded episodes')
    text = json.dumps({'teacher_path': str(args.teacher), 'student_paths': list(args.student),
                       'episode_seeds': [SEED_BASE, SEED_BASE + args.episodes - 1],
                       **result}, indent=1)
    (args.out / 'student.json').write_text(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
