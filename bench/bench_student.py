"""A distilled student (dil-ros distill) vs its DDIM teacher: chunk latency, success, both modes.

Latency: both policy.ts files on the same observations, round-robin in one process (a shared CPU
loads them alike), batch 1. Success and modes: the closed loop of bench_handover.py (policy_node's
controller against the MuJoCo arm in simulated time, hand-over ``crossfade``, no extra delay) on
the same unseen episodes for both; tip paths of both in one trajectories.png.

    .venv/bin/python bench/bench_student.py --teacher runs/handover/teacher.ts \
        --student runs/demo/student/policy.ts --episodes 50 --out runs/student
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


def main(argv=None) -> int:
    from dil_ros.demo.plots import mode_split, plot_paths
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--teacher', default='runs/demo/policy.ts')
    parser.add_argument('--student', default='runs/demo/student.ts',
                        help='the student policy.ts (dil-ros demo --student writes this one)')
    parser.add_argument('--episodes', type=int, default=50)
    parser.add_argument('--teacher-episodes', type=int, default=None,
                        help='closed-loop episodes of the teacher (default: --episodes; 0: skip)')
    parser.add_argument('--runs', type=int, default=200, help='latency samples per policy')
    parser.add_argument('--base-latency-ms', type=float, default=15.0)
    parser.add_argument('--out', type=Path, default=Path('runs/student'))
    parser.add_argument('--json', type=Path, default=None, help='also write the result here')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in (args.teacher, args.student):
        if not Path(path).is_file():
            print(f'bench_student: {path}: not found (dil-ros demo --student 1 makes both)',
                  file=sys.stderr)
            return 1
    (teacher, contract), (student, _) = load(args.teacher), load(args.student)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {'latency': latency({'teacher': teacher, 'student': student}, args.runs, contract)}
    lat = result['latency']
    result['speedup_p50'] = lat['teacher']['p50_ms'] / lat['student']['p50_ms']
    print(f"latency p50 teacher {lat['teacher']['p50_ms']:.2f} ms, student "
          f"{lat['student']['p50_ms']:.2f} ms: {result['speedup_p50']:.1f}x", flush=True)
    paths = {}
    runs = {'teacher': args.episodes if args.teacher_episodes is None else args.teacher_episodes,
            'student': args.episodes}
    for name, module in (('teacher', teacher), ('student', student)):
        if not runs[name]:
            continue
        policy, statuses, paths[name] = Policy(module), [], []
        for k in range(runs[name]):
            r = run_episode(policy, contract, 'crossfade', args.base_latency_ms / 1e3,
                            SEED_BASE + k)
            statuses.append(r['status'])
            paths[name].append(r['path'])
        result[name] = {'episodes': runs[name],
                        'success_rate': statuses.count('success') / runs[name],
                        'statuses': {s: statuses.count(s) for s in sorted(set(statuses))},
                        'modes': mode_split(paths[name])}
        print(f"{name}: success {result[name]['success_rate']:.0%}, {result[name]['modes']}",
              flush=True)
    plot_paths({f'{n} ({result[n]["success_rate"]:.0%})': p for n, p in paths.items()},
               args.out / 'trajectories.png',
               f'teacher (DDIM) vs distilled student, {args.episodes} unseen episodes')
    text = json.dumps({'teacher_path': str(args.teacher), 'student_path': str(args.student),
                       **result}, indent=1)
    (args.out / 'student.json').write_text(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
