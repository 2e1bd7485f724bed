"""The run-time monitor in closed loop: nominal vs perturbed episodes over DDS (issue 13).

Uses a `dil-ros demo` run (policy.ts, diffusion/, dataset/). Phases:
1. policy_node with ``monitor: true, on_alarm: warn`` against sim_node (processes, as the demo's
   evaluation runs them): calibration episodes (seeds from 10000), nominal test episodes (seeds
   from 20000) and, for each perturbation, the same seeds with the fault injected at
   ``--perturb-time`` (sim_node parameters). Every ``~/monitor`` message is kept per episode.
2. `dil-ros calibrate RUN --episodes OUT/calibration --alpha A` on the calibration logs.
3. Offline, with those thresholds: false-alarm rate on the nominal test episodes, true-positive
   rate (an alarm at or after the fault's onset) and detection delay per perturbation, per score
   and for the alarm on any score; ROC curves; score traces with the thresholds.
4. ``on_alarm: hold`` on ``--hold-episodes`` perturbed episodes per kind (same seeds as phase 1):
   collisions with hold vs with warn (the robot does what it would do without a monitor).

Usage: python bench/bench_monitor.py --run runs/demo [--calibration 100 --nominal 50
--perturbed 50 --hold-episodes 50 --rtf 1] (writes OUT = RUN/monitor_eval: episodes.json,
results.json, results.md, traces.png, roc.png). ``--analyse`` reruns 2-3 on saved episodes.
"""
import argparse
import json
from pathlib import Path
import subprocess
import sys
import threading
import time
from typing import Dict, List

import numpy as np

SCORES = ('denoise', 'consistency', 'novelty')
KINDS = ('goal', 'pillar', 'joint_bias', 'push')
SEEDS = {'calibration': 10000, 'nominal': 20000}
PERTURBED_SEED = 20000


class MonitorLog:
    """Every ~/monitor message and inference latency, with its chunk stamp (sim s)."""

    def __init__(self, node):
        from std_msgs.msg import Float64, String
        self.messages: List[dict] = []
        self.latencies: List[float] = []
        self._lock = threading.Lock()
        node.create_subscription(String, '/policy_node/monitor', self._on_monitor, 100)
        node.create_subscription(Float64, '/policy_node/inference_latency_ms',
                                 lambda m: self.latencies.append(m.data), 100)

    def _on_monitor(self, msg) -> None:
        with self._lock:
            self.messages.append(json.loads(msg.data))

    def between(self, t0: float, t1: float) -> List[dict]:
        with self._lock:
            rows = [m for m in self.messages if t0 < m['stamp'] <= t1 + 1e-6]
            self.messages = [m for m in self.messages if m['stamp'] > t1 + 1e-6]
        return rows


def set_sim(harness, **params) -> None:
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    reply = harness.call(SetParameters, '/sim_node/set_parameters', SetParameters.Request(
        parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in params.items()]))
    bad = [r.reason for r in reply.results if not r.successful]
    if bad:
        raise RuntimeError(f'sim_node refused parameters {params}: {bad}')


def run_episodes(run: Path, out: Path, plan, on_alarm: str, rtf: float, perturb_time: float,
                 tag: str) -> List[dict]:
    """``plan``: [(group, kind, count, first seed)]; returns one record per episode."""
    from lifecycle_msgs.msg import Transition
    from std_srvs.srv import SetBool, Trigger
    from tqdm import tqdm

    from dil_ros.contract import default_contract_path
    from dil_ros.demo.evaluate import change_state, EPISODE_TIMEOUT_S, SETTLE_S
    from dil_ros.demo.harness import Harness, reset_sim

    harness = Harness(out / 'logs' / tag)
    log = MonitorLog(harness.client)
    records = []
    try:
        harness.start('sim_node', real_time_factor=rtf, seed=0, auto_reset=False)
        harness.start('policy_node', policy_path=str(run / 'policy.ts'),
                      contract=str(default_contract_path()), use_sim_time=True,
                      output_mode='joint_trajectory', start_enabled=False, monitor=True,
                      on_alarm=on_alarm)
        change_state(harness, Transition.TRANSITION_CONFIGURE, 'configure')
        change_state(harness, Transition.TRANSITION_ACTIVATE, 'activate')
        for group, kind, count, seed in plan:
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
            set_sim(harness, seed=seed, perturbation=kind, perturb_time=perturb_time)
            bar = tqdm(range(count), desc=f'{tag} {group}', unit='ep', file=sys.stdout)
            for _ in bar:
                harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
                time.sleep(SETTLE_S)
                info = reset_sim(harness)
                time.sleep(SETTLE_S)
                harness.call(Trigger, '/policy_node/reset')
                harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=True))
                result = harness.wait_result(info['episode'], EPISODE_TIMEOUT_S)
                time.sleep(0.05)
                records.append({'group': group, 'kind': kind, 'on_alarm': on_alarm,
                                'seed': info['seed'], 'status': result['status'],
                                't0': info['stamp'], 't1': result['stamp'],
                                'onset': result.get('perturb_onset'),
                                'chunks': log.between(info['stamp'], result['stamp'])})
                n_ok = sum(r['status'] == 'success' for r in records if r['group'] == group)
                bar.set_postfix(success=n_ok)
        harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
    finally:
        harness.close()
    for r in records:
        r['latency_ms_p50'] = float(np.median(log.latencies)) if log.latencies else None
    return records


def write_calibration_logs(records, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob('*.jsonl'):
        old.unlink()
    for i, r in enumerate(r for r in records if r['group'] == 'calibration'):
        if r['status'] != 'success':
            continue   # conformal calibration uses successful rollouts only
        (folder / f'episode_{i:04d}.jsonl').write_text(
            ''.join(json.dumps(c) + '\n' for c in r['chunks']))


def first_alarm(record, thresholds, scores, after: float = -np.inf):
    """Stamp of the first chunk at/after ``after`` with a selected score over its threshold."""
    for c in record['chunks']:
        if c['stamp'] < after - 1e-6:
            continue
        for s in scores:
            v = c['scores'].get(s)
            if v is not None and s in thresholds and v > thresholds[s]:
                return c['stamp']
    return None


def peak(record, score, thresholds=None, after: float = -np.inf) -> float:
    """Max over the episode's chunks (at/after ``after``) of a score, or of the largest
    score / threshold ratio (``score`` None)."""
    best = -np.inf
    for c in record['chunks']:
        if c['stamp'] < after - 1e-6:
            continue
        names = [score] if score else list(thresholds)
        for s in names:
            v = c['scores'].get(s)
            if v is None:
                continue
            best = max(best, v / thresholds[s] if score is None else v)
    return best


def analyse(records, thresholds, perturb_time) -> Dict:
    warn = [r for r in records if r['on_alarm'] == 'warn']
    nominal = [r for r in warn if r['group'] == 'nominal']
    out = {'thresholds': thresholds, 'nominal': {}, 'kinds': {}}
    sets = {'any': list(thresholds)} | {s: [s] for s in thresholds}
    for name, scores in sets.items():
        fa = [first_alarm(r, thresholds, scores) is not None for r in nominal]
        out['nominal'][name] = {'false_alarm_rate': float(np.mean(fa)), 'episodes': len(fa)}
    out['nominal']['success_rate'] = float(np.mean([r['status'] == 'success' for r in nominal]))
    for kind in KINDS:
        eps = [r for r in warn if r['group'] == kind and r['onset'] is not None]
        if not eps:
            continue
        row = {'episodes': len(eps),
               'statuses': {s: sum(r['status'] == s for r in eps)
                            for s in sorted({r['status'] for r in eps})},
               'early_alarm': float(np.mean([first_alarm(r, thresholds, list(thresholds))
                                             is not None and first_alarm(
                                                 r, thresholds, list(thresholds)) < r['onset']
                                             - 1e-6 for r in eps]))}
        for name, scores in sets.items():
            hits = [first_alarm(r, thresholds, scores, r['onset']) for r in eps]
            delays = [h - r['onset'] for h, r in zip(hits, eps) if h is not None]
            row[name] = {'tpr': float(np.mean([h is not None for h in hits])),
                         'median_delay_s': float(np.median(delays)) if delays else None}
        hold = [r for r in records if r['on_alarm'] == 'hold' and r['group'] == kind]
        if hold:
            seeds = {r['seed'] for r in hold}
            paired = [r for r in eps if r['seed'] in seeds]
            row['collisions_warn'] = sum(r['status'] == 'collision' for r in paired)
            row['collisions_hold'] = sum(r['status'] == 'collision' for r in hold)
            row['hold_episodes'] = len(hold)
            row['held'] = sum(1 for r in hold if any(c['tripped'] for c in r['chunks']))
        out['kinds'][kind] = row
    return out


def roc(records, thresholds):
    """{curve label: (fpr, tpr, auc)} per score (all perturbations pooled) and per kind for the
    alarm on any score (peak score / threshold)."""
    warn = [r for r in records if r['on_alarm'] == 'warn']
    nominal = [r for r in warn if r['group'] == 'nominal']
    pert = [r for r in warn if r['group'] in KINDS and r['onset'] is not None]
    curves = {}

    def curve(neg, pos):
        neg, pos = np.asarray(neg), np.asarray(pos)
        cuts = np.unique(np.concatenate([neg, pos, [np.inf, -np.inf]]))[::-1]
        fpr = np.array([(neg > c).mean() for c in cuts])
        tpr = np.array([(pos > c).mean() for c in cuts])
        return fpr, tpr, float(np.trapezoid(tpr, fpr))
    for s in thresholds:
        curves[f'{s} (all faults)'] = curve([peak(r, s) for r in nominal],
                                            [peak(r, s, after=r['onset']) for r in pert])
    for kind in KINDS:
        pos = [peak(r, None, thresholds, r['onset']) for r in pert if r['group'] == kind]
        if pos:
            curves[f'any score, {kind}'] = curve([peak(r, None, thresholds) for r in nominal],
                                                 pos)
    return curves


def plot(records, thresholds, results, out: Path, perturb_time: float) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    warn = [r for r in records if r['on_alarm'] == 'warn']
    colors = dict(zip(KINDS, ('tab:red', 'tab:orange', 'tab:purple', 'tab:blue')))
    fig, axes = plt.subplots(1, len(thresholds), figsize=(5 * len(thresholds), 3.6))
    for ax, s in zip(np.atleast_1d(axes), thresholds):
        for r in warn:
            if r['group'] == 'calibration':
                continue
            if r['group'] != 'nominal' and r['seed'] >= PERTURBED_SEED + 8:
                continue   # a few perturbed traces per kind, all nominal ones
            pts = [(c['stamp'] - r['t0'], c['scores'].get(s)) for c in r['chunks']]
            pts = [(t, v) for t, v in pts if v is not None]
            if pts:
                t, v = zip(*pts)
                nominal = r['group'] == 'nominal'
                ax.plot(t, v, color='0.6' if nominal else colors[r['group']],
                        lw=0.7 if nominal else 1.0, alpha=0.6 if nominal else 0.9)
        ax.axhline(thresholds[s], color='k', ls='--', lw=1, label='threshold')
        ax.axvline(perturb_time, color='k', ls=':', lw=1, label='fault onset')
        ax.set_yscale('log')
        ax.set_title(s)
        ax.set_xlabel('episode time [s]')
    handles = [plt.Line2D([], [], color='0.6', label='nominal')] + [
        plt.Line2D([], [], color=c, label=k) for k, c in colors.items()]
    np.atleast_1d(axes)[0].legend(handles=handles, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'traces.png', dpi=80)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for label, (fpr, tpr, auc) in roc(records, thresholds).items():
        ax.plot(fpr, tpr, label=f'{label} (AUC {auc:.2f})', lw=1)
    ax.axvline(0.05, color='k', ls=':', lw=1)
    ax.set_xlabel('false-alarm rate (nominal episodes)')
    ax.set_ylabel('true-positive rate (after onset)')
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / 'roc.png', dpi=80)
    plt.close(fig)


def table(results) -> str:
    lines = ['| fault | episodes | TPR any | TPR denoise | TPR consistency | TPR novelty | '
             'median delay any [s] | collisions warn | collisions hold |',
             '|---|---|---|---|---|---|---|---|---|']
    nom = results['nominal']
    lines.append(f'| none (nominal, FA rate) | {nom["any"]["episodes"]} | '
                 + ' | '.join(f'{nom[s]["false_alarm_rate"]:.2f}' for s in
                              ('any',) + SCORES if s in nom) + ' | | | |')
    for kind, row in results['kinds'].items():
        d = row['any']['median_delay_s']
        lines.append(f'| {kind} | {row["episodes"]} | ' + ' | '.join(
            f'{row[s]["tpr"]:.2f}' for s in ('any',) + SCORES if s in row)
            + f' | {"" if d is None else f"{d:.2f}"} | {row.get("collisions_warn", "")}'
            f'{"/" + str(row["hold_episodes"]) if "hold_episodes" in row else ""} | '
            f'{row.get("collisions_hold", "")} |')
    return '\n'.join(lines)


def scoring_cost(run: Path, repeats: int = 30) -> Dict[str, float]:
    """Policy call vs scorer call, side by side in one process (ms, median)."""
    import torch
    from dil_ros.accel.forms import example_obs
    from dil_ros.monitor.sibling import load_monitor
    from dil_ros.policy.artifact import load_artifact
    torch.set_num_threads(1)
    art = load_artifact(run / 'policy.ts')
    scorer, _ = load_monitor(run / 'policy.ts')
    obs = example_obs(art.meta, 1, torch.device('cpu'))
    pol, sco = [], []
    with torch.inference_mode():
        for i in range(repeats + 5):
            t = time.perf_counter()
            a = art.module(obs, None)
            t1 = time.perf_counter()
            scorer(obs, a)
            t2 = time.perf_counter()
            if i >= 5:
                pol.append(t1 - t)
                sco.append(t2 - t1)
    return {'policy_ms': float(np.median(pol) * 1e3), 'scorer_ms': float(np.median(sco) * 1e3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--run', type=Path, default=Path('runs/demo'))
    p.add_argument('--out', type=Path, default=None)
    p.add_argument('--calibration', type=int, default=100)
    p.add_argument('--nominal', type=int, default=50)
    p.add_argument('--perturbed', type=int, default=50)
    p.add_argument('--hold-episodes', type=int, default=50)
    p.add_argument('--kinds', default=','.join(KINDS))
    p.add_argument('--alpha', type=float, default=0.05)
    p.add_argument('--rtf', type=float, default=1.0)
    p.add_argument('--perturb-time', type=float, default=1.0)
    p.add_argument('--analyse', action='store_true', help='only steps 2-3 on saved episodes')
    p.add_argument('--skip-hold', action='store_true')
    p.add_argument('--extend', action='store_true',
                   help='keep the saved episodes and run only the missing ones (next seeds)')
    args = p.parse_args()
    out = args.out or args.run / 'monitor_eval'
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.kinds.split(',') if k]
    saved = out / 'episodes.json'
    subprocess.run([sys.executable, '-m', 'dil_ros.cli.main', 'calibrate', str(args.run)],
                   check=True)   # policy.monitor.ts, if missing or stale
    if args.analyse:
        records = json.loads(saved.read_text())
    else:
        import rclpy
        rclpy.init()
        old = json.loads(saved.read_text()) if args.extend and saved.is_file() else []

        def missing(groups, mode):
            # (group, kind, count, first seed) of the episodes not saved yet
            todo = []
            for group, kind, count, seed in groups:
                have = sum(r['group'] == group and r['on_alarm'] == mode for r in old)
                if count > have:
                    todo.append((group, kind, count - have, seed + have))
            return todo
        try:
            plan = missing([('calibration', '', args.calibration, SEEDS['calibration']),
                            ('nominal', '', args.nominal, SEEDS['nominal'])]
                           + [(k, k, args.perturbed, PERTURBED_SEED) for k in kinds], 'warn')
            t = time.perf_counter()
            records = old + (run_episodes(args.run, out, plan, 'warn', args.rtf,
                                          args.perturb_time, 'warn') if plan else [])
            saved.write_text(json.dumps(records))
            print(f'warn phase: {len(records)} episodes in {time.perf_counter() - t:.0f} s')
            plan = missing([(k, k, args.hold_episodes, PERTURBED_SEED) for k in kinds], 'hold')
            if not args.skip_hold and plan:
                write_calibration_logs(records, out / 'calibration')
                _calibrate(args, out)
                records += run_episodes(args.run, out, plan, 'hold', args.rtf,
                                        args.perturb_time, 'hold')
                saved.write_text(json.dumps(records))
        finally:
            rclpy.try_shutdown()
    write_calibration_logs(records, out / 'calibration')
    thresholds = _calibrate(args, out)
    # an episode without a single scored chunk: the node never commanded (a stalled or dead
    # inference thread on a loaded machine), not a monitor outcome: counted, left out
    dropped = [r for r in records if not r['chunks']]
    records = [r for r in records if r['chunks']]
    results = analyse(records, thresholds, args.perturb_time)
    results['episodes_without_chunks'] = {g: sum(r['group'] == g for r in dropped)
                                          for g in sorted({r['group'] for r in dropped})}
    results['alpha'] = args.alpha
    results['calibration_episodes'] = len(list((out / 'calibration').glob('*.jsonl')))
    results['rtf'] = args.rtf
    results['perturb_time'] = args.perturb_time
    results['roc_auc'] = {k: v[2] for k, v in roc(records, thresholds).items()}
    costs = [c['cost_ms'] for r in records for c in r['chunks']]
    results['node_scoring_cost_ms_p50'] = float(np.median(costs)) if costs else None
    lat = [r['latency_ms_p50'] for r in records if r.get('latency_ms_p50')]
    results['node_chunk_latency_ms_p50'] = float(np.median(lat)) if lat else None
    results['side_by_side_ms'] = scoring_cost(args.run)
    (out / 'results.json').write_text(json.dumps(results, indent=1))
    md = table(results)
    (out / 'results.md').write_text(md + '\n')
    plot(records, thresholds, results, out, args.perturb_time)
    print(md)
    keys = ('roc_auc', 'side_by_side_ms', 'node_scoring_cost_ms_p50',
            'node_chunk_latency_ms_p50')
    print(json.dumps({k: results[k] for k in keys}, indent=1))
    return 0


def _calibrate(args, out: Path) -> Dict[str, float]:
    subprocess.run([sys.executable, '-m', 'dil_ros.cli.main', 'calibrate', str(args.run),
                    '--episodes', str(out / 'calibration'), '--alpha', str(args.alpha)],
                   check=True)
    return json.loads((args.run / 'policy.monitor.json').read_text())['thresholds']


if __name__ == '__main__':
    sys.exit(main())
