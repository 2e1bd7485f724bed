"""The end-to-end demo over ROS 2, on the embedded MuJoCo arm.

1. record: sim_node + expert_node + recorder_node; one MCAP bag per expert episode
2. convert: bags -> LeRobot v3.0 dataset on the contract's 10 Hz grid
3. train: diffusion policy and an MSE-regression baseline on the same data (the vision variant:
   both with the same camera encoder, trained on all but the last tenth of the demonstrations)
4. export: runs/<name>/policy.ts and baseline.ts
5. evaluate: policy_node (lifecycle, over DDS) closed loop against sim_node, for both artifacts
6. report: success rates, latency, jitter, plots and an mp4, summary.json and report.txt (the
   vision variant adds the evidence that the policies read the goal from the image)
"""
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import time
from typing import Dict, Optional

import numpy as np

from dil_ros.demo.run_name import run_folder


@dataclass
class DemoOptions:
    name: str = 'demo'
    runs: Path = Path('runs')
    episodes: int = 100            # expert demonstrations to record
    eval_episodes: int = 50        # closed-loop episodes for the diffusion policy
    baseline_episodes: int = 20    # closed-loop episodes for the MSE baseline
    video_episodes: int = 3
    steps: Optional[int] = None    # training steps (default: the config's)
    config: Optional[Path] = None  # training config (default: config/train_demo_arm.yaml)
    seed: int = 0
    record_rtf: float = 4.0        # sim speed while recording (x real time)
    eval_rtf: float = 1.0          # sim speed in closed loop (inference runs in real time)
    output_mode: str = 'joint_trajectory'
    vision: bool = False           # the goal seen only by a camera (dil_ros/demo/vision.py)
    baseline_steps: Optional[int] = None   # MSE baseline's steps (default: as the diffusion's)
    time_limit_s: Optional[float] = None   # wall budget of each policy's training
    student: int = 0               # 1-3: also distil a student with that many steps (0: none)
    student_train_steps: int = 12000  # its optimisation steps (dil-ros distill --train-steps)


def _stage(no: int, text: str) -> None:
    print(f'\n[{no}/6] {text}', flush=True)


def _train_threads() -> int:
    """Torch threads for the train stage: both cores, as nothing else of the demo runs then,
    unless other work already keeps every core busy (two threads that wait on each other in turn
    are far slower than one on an oversubscribed CPU)."""
    cores = os.cpu_count() or 1
    threads = min(2, cores)
    if threads > 1 and os.getloadavg()[0] > cores:
        print(f'      load average {os.getloadavg()[0]:.1f} on {cores} cores: training on one '
              f'thread', flush=True)
        threads = 1
    return threads


def _percentiles(values) -> Dict[str, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {'p50': float('nan'), 'p99': float('nan'), 'max': float('nan')}
    return {'p50': float(np.percentile(v, 50)), 'p99': float(np.percentile(v, 99)),
            'max': float(v.max())}


def run_demo(opts: DemoOptions) -> Dict[str, object]:
    import rclpy
    import torch
    from dil_ros.contract import default_contract_path, load_contract
    from dil_ros.data.convert import ConvertOptions, convert_bags
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.demo import vision
    from dil_ros.demo.evaluate import evaluate_policy
    from dil_ros.demo.plots import mode_split, plot_latency, plot_paths
    from dil_ros.demo.record import record_demonstrations
    from dil_ros.policy.export import export_policy
    from dil_ros.training.config import config_dir, load_run_config
    from dil_ros.training.restore import load_run
    from dil_ros.training.trainer import TrainRequest, train

    t_start = time.perf_counter()
    out = run_folder(opts.runs, opts.name)  # checked first: the folder is wiped below
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    logs = out / 'logs'
    contract_path = vision.contract_path() if opts.vision else default_contract_path()
    contract = load_contract(contract_path)
    sim_params = vision.sim_params(contract) if opts.vision else {}
    summary: Dict[str, object] = {'name': opts.name, 'contract': str(contract_path)}
    timings: Dict[str, float] = {}

    # Demo traffic stays on this machine unless the user configured discovery otherwise.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('MUJOCO_GL', 'egl')  # offscreen rendering for rollouts.mp4, no display
    rclpy.init()
    try:
        _stage(1, f'recording {opts.episodes} expert demonstrations over ROS 2 '
                  f'(sim at {opts.record_rtf:g}x real time)')
        t = time.perf_counter()
        summary['record'] = record_demonstrations(out / 'demos', str(contract_path),
                                                  opts.episodes, opts.seed, opts.record_rtf,
                                                  logs / 'record', sim_params)
        timings['record'] = time.perf_counter() - t

        _stage(2, 'converting bags into a LeRobot v3.0 dataset')
        t = time.perf_counter()
        report = convert_bags([out / 'demos'], contract, out / 'dataset', ConvertOptions(),
                              progress=True)
        print(report.summary(), flush=True)
        timings['convert'] = time.perf_counter() - t

        kinds = [('diffusion', 'policy.ts'), ('regression', 'baseline.ts')]
        _stage(3, 'training the diffusion policy and the MSE baseline on the same data'
                  + (' (both with the camera encoder)' if opts.vision else ''))
        torch.set_num_threads(_train_threads())
        config = load_run_config(opts.config or (vision.train_config_path() if opts.vision
                                                 else config_dir() / 'train_demo_arm.yaml'))
        baseline_steps = opts.baseline_steps
        if opts.vision and baseline_steps is None:   # the MLP head learns in fewer steps
            baseline_steps = max(1, (opts.steps or config.train.steps) // 2)
        artifacts, policies = {}, {}
        t = time.perf_counter()
        for kind, file in kinds:
            run_dir = out / kind
            t_kind = time.perf_counter()
            steps = baseline_steps if kind == 'regression' and baseline_steps else opts.steps
            train(TrainRequest(dataset=out / 'dataset', run_dir=run_dir, config=config,
                               contract=contract, kind=kind, steps=steps,
                               episodes=vision.TRAIN_EPISODES if opts.vision else None,
                               time_limit_s=opts.time_limit_s))
            policy, meta = load_run(run_dir)
            policies[kind] = policy
            artifacts[kind] = export_policy(policy, out / file, meta)
            timings[f'train+export {kind}'] = time.perf_counter() - t_kind
            print(f'      exported {artifacts[kind]}', flush=True)
        if opts.student:   # dil-ros distill + export: runs/<name>/student.ts
            from dil_ros.training.distill import DistillRequest, distill
            t_kind = time.perf_counter()
            distill(DistillRequest(teacher=out / 'diffusion', out=out / 'student',
                                   steps=opts.student, train_steps=opts.student_train_steps))
            policy, meta = load_run(out / 'student')
            artifacts['student'] = export_policy(policy, out / 'student.ts', meta)
            timings['distill+export student'] = time.perf_counter() - t_kind
            print(f'      exported {artifacts["student"]}', flush=True)
        timings['train+export'] = time.perf_counter() - t
        torch.set_num_threads(1)
        if opts.vision:
            summary['vision'] = vision.offline_evidence(policies, out / 'dataset', contract)

        _stage(4, f'closed loop: policy_node runs policy.ts against sim_node '
                  f'({opts.eval_episodes} episodes)')
        t = time.perf_counter()
        eval_seed = opts.seed + 10_000  # unseen goals
        evals = {
            'diffusion': evaluate_policy('diffusion', artifacts['diffusion'], str(contract_path),
                                         opts.eval_episodes, eval_seed, opts.eval_rtf, logs,
                                         opts.output_mode, sim_params=sim_params),
        }
        if 'regression' in artifacts:
            _stage(5, f'closed loop: the MSE baseline ({opts.baseline_episodes} episodes)')
            evals['baseline'] = evaluate_policy('baseline', artifacts['regression'],
                                                str(contract_path), opts.baseline_episodes,
                                                eval_seed, opts.eval_rtf, logs, opts.output_mode,
                                                sim_params=sim_params)
        if 'student' in artifacts:
            print(f'      closed loop: the {opts.student}-step student '
                  f'({opts.eval_episodes} episodes)', flush=True)
            evals['student'] = evaluate_policy('student', artifacts['student'],
                                               str(contract_path), opts.eval_episodes,
                                               eval_seed, opts.eval_rtf, logs, opts.output_mode,
                                               sim_params=sim_params)
        video = out / 'rollouts.mp4'
        if opts.video_episodes > 0:   # the vision variant shows its camera in a corner
            evaluate_policy('video', artifacts['diffusion'], str(contract_path),
                            opts.video_episodes, eval_seed, opts.eval_rtf, logs,
                            opts.output_mode, video_path=str(video), sim_params={
                                **sim_params, **(vision.VIDEO_PARAMS if opts.vision else {})})
        timings['evaluate'] = time.perf_counter() - t
    finally:
        rclpy.try_shutdown()

    _stage(6, 'report')
    dataset = read_dataset(out / 'dataset', **({'keys': ['observation.state']} if opts.vision
                                              else {}))   # no video decoding for the plots
    demo_goals = summary['record'].pop('goals')
    expert_paths = [e.observations['observation.state'] for e in dataset.episodes[:50]]
    figures = {
        'paths': plot_paths({'expert (recorded)': expert_paths,
                             'diffusion policy': evals['diffusion'].paths,
                             **({'MSE baseline': evals['baseline'].paths}
                                if 'baseline' in evals else {}),
                             **({'distilled student': evals['student'].paths}
                                if 'student' in evals else {})},
                            out / 'trajectories.png', 'tip paths seen from above'),
        'latency': plot_latency({k: v.latencies_ms for k, v in evals.items()},
                                out / 'latency.png'),
    }
    summary['dataset'] = {'episodes': len(dataset.episodes), 'frames': dataset.num_frames,
                          'modes': mode_split([e.observations['observation.state']
                                               for e in dataset.episodes])}
    summary['evaluation'] = {
        k: {'episodes': v.episodes, 'successes': v.successes, 'success_rate': v.success_rate,
            'statuses': v.statuses, 'modes': mode_split(v.paths),
            'inference_latency_ms': _percentiles(v.latencies_ms),
            'policy_node_diagnostics': v.diagnostics}
        for k, v in evals.items()}
    if opts.vision:
        summary['vision']['mean_goal_success'] = vision.mean_goal_success(
            demo_goals, evals['diffusion'].goals)
    summary['timings_s'] = {k: round(v, 1) for k, v in timings.items()}
    summary['wall_time_s'] = round(time.perf_counter() - t_start, 1)
    summary['files'] = {'policy': str(artifacts['diffusion']),
                        'baseline': str(artifacts['regression']) if 'regression' in artifacts
                        else None,
                        'student': str(artifacts['student']) if 'student' in artifacts
                        else None,
                        'dataset': str(out / 'dataset'), 'demos': str(out / 'demos'),
                        **{k: str(v) for k, v in figures.items()},
                        'video': str(video) if video.exists() else None,
                        'logs': str(logs)}
    summary['files']['report'] = str(out / 'report.txt')
    (out / 'summary.json').write_text(json.dumps(summary, indent=2))
    text = _summary_text(summary)
    print(text)
    (out / 'report.txt').write_text(text + '\n')
    return summary


def _summary_text(s: Dict[str, object]) -> str:
    """The report as printed at the end of the run (and written to report.txt)."""
    rec = s['record']
    lines = [f'expert demonstrations: {rec["kept"]} kept, {rec["failed"]} failed; '
             f'passing the pillar {s["dataset"]["modes"]}']
    for name, e in s['evaluation'].items():
        lat = e['inference_latency_ms']
        diag = e['policy_node_diagnostics']
        lines.append(f'{name:10s} success {e["successes"]}/{e["episodes"]} = '
                     f'{e["success_rate"]:.0%}  {e["statuses"]}  inference p50 {lat["p50"]:.1f} '
                     f'ms p99 {lat["p99"]:.1f} ms  loop jitter p99 '
                     f'{diag.get("loop jitter p99 [ms]", "n/a")} ms')
        lines.append(f'{"":10s} passing the pillar {e["modes"]}')
    if 'vision' in s:
        from dil_ros.demo.vision import evidence_lines
        lines += evidence_lines(s['vision'])
    lines.append(f'wall time {s["wall_time_s"]:.0f} s  ({s["timings_s"]})')
    lines += [f'  {key:9s} {path}' for key, path in s['files'].items() if path]
    return '\n'.join(lines)
