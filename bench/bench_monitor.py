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

Both rules, constant thresholds and time-varying bands (monitor/band.py), are calibrated on the
same calibration episodes and evaluated OFFLINE on the same recorded episodes (per fault and
score: TPR, false-alarm rate, median delay, alarms before the onset, ROC AUC); the hold phase uses
the rule of ``--rule`` (what `dil-ros calibrate` stores for the node).

Usage: python bench/bench_monitor.py --run runs/demo [--calibration 70 --nominal 50
--perturbed 50 --hold-episodes 15 --rtf 1] (writes OUT = RUN/monitor_eval: episodes.json,
results.json, results.md, traces.png, roc.png). ``--analyse`` reruns 2-3 on saved episodes.
Long runs split over processes (each with its own ROS_DOMAIN_ID): ``--record-only --out OUT_i``
with a part of the groups each, then ``--merge OUT_1 ... --out OUT --extend`` (hold phase and
analysis) or ``--merge ... --analyse``. ``--vision``: a `dil-ros demo --vision` run, with
``--kinds camera_blackout``. ``--magnitude push=400`` records the fault at that size (sim_node's
``perturb_magnitude``) as its own group ``push@400``, beside the default-size episodes; merged
folders may overlap (an episode is kept once per group, mode and seed).

Besides per fault, the analysis gives a failure-detection view (what FAIL-Detect and FIPER
report): over all warn episodes, the share of failed ones (collision or timeout, nominal or
faulty) with an alarm before the failure (the episode's end), against the alarm rate on the
successful nominal ones; and per fault, that share among its failed episodes.
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
KINDS = ('goal', 'pillar', 'joint_bias', 'push', 'camera_blackout')
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


def parse_magnitudes(text: str) -> Dict[str, float]:
    """``'push=400,joint_bias=0.4'`` -> {kind: magnitude}; errors name the bad item."""
    out = {}
    for item in (x.strip() for x in text.split(',') if x.strip()):
        kind, sep, value = item.partition('=')
        if not sep or kind not in KINDS:
            raise SystemExit(f'--magnitude: expected KIND=VALUE with KIND one of {KINDS}, '
                             f'got {item!r}')
        try:
            out[kind] = float(value)
        except ValueError:
            raise SystemExit(f'--magnitude {kind}: {value!r} is not a number') from None
        if not out[kind] or not np.isfinite(out[kind]):
            raise SystemExit(f'--magnitude {kind}: must be finite and not 0 (0 is the default '
                             f'size), got {value}')
    return out


def group_name(kind: str, magnitude: float = 0.0) -> str:
    """The fault at its default size is the group ``kind``; another size ``kind@size``."""
    return f'{kind}@{magnitude:g}' if magnitude else kind


def fault_groups(records) -> List[str]:
    """Fault groups present, in KINDS order, default size first, then by size."""
    groups = {r['group'] for r in records if r['group'] not in ('calibration', 'nominal')}
    def key(g):
        kind, _, size = g.partition('@')
        return (KINDS.index(kind) if kind in KINDS else len(KINDS), bool(size), float(size or 0))
    return sorted(groups, key=key)


def run_episodes(run: Path, out: Path, plan, on_alarm: str, rtf: float, perturb_time: float,
                 tag: str, partial=None, vision: bool = False) -> List[dict]:
    """``plan``: [(group, kind, count, first seed, magnitude)]; returns one record per episode;
    ``partial(records)`` after each episode (saves what is done, for a long run)."""
    from lifecycle_msgs.msg import Transition
    from std_srvs.srv import SetBool, Trigger
    from tqdm import tqdm

    from dil_ros.contract import default_contract_path
    from dil_ros.demo.evaluate import change_state, EPISODE_TIMEOUT_S, SETTLE_S
    from dil_ros.demo.harness import Harness, reset_sim

    harness = Harness(out / 'logs' / tag)
    log = MonitorLog(harness.client)
    records = []
    contract, sim_params = default_contract_path(), {}
    if vision:   # the camera variant, as `dil-ros demo --vision` runs it
        from dil_ros.contract import load_contract
        from dil_ros.demo import vision as variant
        contract = variant.contract_path()
        sim_params = variant.sim_params(load_contract(contract))
    try:
        harness.start('sim_node', real_time_factor=rtf, seed=0, auto_reset=False, **sim_params)
        harness.start('policy_node', policy_path=str(run / 'policy.ts'),
                      contract=str(contract), use_sim_time=True,
                      output_mode='joint_trajectory', start_enabled=False, monitor=True,
                      on_alarm=on_alarm)
        change_state(harness, Transition.TRANSITION_CONFIGURE, 'configure')
        change_state(harness, Transition.TRANSITION_ACTIVATE, 'activate')
        for group, kind, count, seed, magnitude in plan:
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
            set_sim(harness, seed=seed, perturbation=kind, perturb_time=perturb_time,
                    perturb_magnitude=float(magnitude))
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
                records.append({'group': group, 'kind': kind, 'magnitude': magnitude,
                                'on_alarm': on_alarm,
                                'seed': info['seed'], 'status': result['status'],
                                't0': info['stamp'], 't1': result['stamp'],
                                'onset': result.get('perturb_onset'),
                                'chunks': log.between(info['stamp'], result['stamp'])})
                n_ok = sum(r['status'] == 'success' for r in records if r['group'] == group)
                bar.set_postfix(success=n_ok)
                if partial is not None:
                    partial(records)
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


class Rule:
    """A calibrated alarm rule as a per-chunk margin (> 0: alarm), so both rules share one
    analysis: constant thresholds (margin log(score / threshold)) or time-varying bands (margin
    z - multiplier, monitor/band.py). Margins are computed once per episode and kept."""

    def __init__(self, name: str, thresholds=None, bands=None):
        self.name, self.thresholds, self.bands = name, thresholds or {}, bands or {}
        self.scores = list(self.bands or self.thresholds)
        self._cache: Dict[int, List] = {}

    def margins(self, record) -> List:
        """[(stamp, {score: margin})] per chunk of the episode."""
        key = id(record)
        if key not in self._cache:
            rows, t0 = [], record['chunks'][0]['stamp'] if record['chunks'] else 0.0
            for c in record['chunks']:
                m = {}
                for s in self.scores:
                    v = c['scores'].get(s)
                    if v is None:
                        continue
                    if s in self.bands:
                        b = self.bands[s]
                        m[s] = float(b.z(c['stamp'] - t0, v)) - b.multiplier
                    else:
                        m[s] = float(np.log(max(v, 1e-300)) - np.log(max(self.thresholds[s],
                                                                         1e-300)))
                rows.append((c['stamp'], m))
            self._cache[key] = rows
        return self._cache[key]

    def first_alarm(self, record, scores, after: float = -np.inf):
        """Stamp of the first chunk at/after ``after`` with a selected score over its limit."""
        for stamp, m in self.margins(record):
            if stamp >= after - 1e-6 and any(m.get(s, -np.inf) > 0 for s in scores):
                return stamp
        return None

    def peak(self, record, scores, after: float = -np.inf) -> float:
        """Largest margin of the selected scores over the chunks at/after ``after``."""
        return max([m.get(s, -np.inf) for stamp, m in self.margins(record)
                    if stamp >= after - 1e-6 for s in scores] or [-np.inf])


def calibration_episodes(records) -> List[Dict[str, List[float]]]:
    """Successful calibration episodes as monitor.calibration reads logs: {score: values,
    EPISODE_TIME: s since the first chunk}."""
    from dil_ros.monitor.calibration import EPISODE_TIME
    out = []
    for r in records:
        if r['group'] != 'calibration' or r['status'] != 'success' or not r['chunks']:
            continue
        t0 = r['chunks'][0]['stamp']
        ep = {s: [np.nan if c['scores'].get(s) is None else c['scores'][s] for c in r['chunks']]
              for s in SCORES}
        ep[EPISODE_TIME] = [c['stamp'] - t0 for c in r['chunks']]
        out.append(ep)
    return out


def make_rules(records, alpha: float) -> Dict[str, Rule]:
    from dil_ros.monitor import calibration
    from dil_ros.monitor.band import calibrate_bands
    from dil_ros.monitor.conformal import thresholds
    eps = calibration_episodes(records)
    const = thresholds(calibration.episode_maxima(eps), alpha, 'calibration')
    bands = calibrate_bands(eps, list(const), alpha, calibration.EPISODE_TIME, 'calibration')
    return {'constant': Rule('constant', thresholds=const),
            'time-varying': Rule('time-varying', bands=bands)}


def auc(neg, pos) -> float:
    """P(positive's peak > negative's), ties half: the area under the ROC curve."""
    neg, pos = np.asarray(neg)[:, None], np.asarray(pos)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def analyse(records, rule: Rule) -> Dict:
    warn = [r for r in records if r['on_alarm'] == 'warn']
    nominal = [r for r in warn if r['group'] == 'nominal']
    out = {'nominal': {}, 'kinds': {}}
    sets = {'any': rule.scores} | {s: [s] for s in rule.scores}
    for name, scores in sets.items():
        fa = [rule.first_alarm(r, scores) is not None for r in nominal]
        out['nominal'][name] = {'false_alarm_rate': float(np.mean(fa)), 'episodes': len(fa)}
    out['nominal']['statuses'] = {s: sum(r['status'] == s for r in nominal)
                                  for s in sorted({r['status'] for r in nominal})}
    neg = {name: [rule.peak(r, scores) for r in nominal] for name, scores in sets.items()}
    for kind in fault_groups(warn):
        eps = [r for r in warn if r['group'] == kind and r['onset'] is not None]
        if not eps:
            continue
        first = [rule.first_alarm(r, rule.scores) for r in eps]
        row = {'episodes': len(eps),
               'statuses': {s: sum(r['status'] == s for r in eps)
                            for s in sorted({r['status'] for r in eps})},
               'early_alarm': float(np.mean([f is not None and f < r['onset'] - 1e-6
                                             for f, r in zip(first, eps)]))}
        for name, scores in sets.items():
            hits = [rule.first_alarm(r, scores, r['onset']) for r in eps]
            delays = [h - r['onset'] for h, r in zip(hits, eps) if h is not None]
            row[name] = {'tpr': float(np.mean([h is not None for h in hits])),
                         'median_delay_s': float(np.median(delays)) if delays else None,
                         'auc': auc(neg[name], [rule.peak(r, scores, r['onset'])
                                                for r in eps])}
        hold = [r for r in records if r['on_alarm'] == 'hold' and r['group'] == kind]
        if hold:
            seeds = {r['seed'] for r in hold}
            paired = [r for r in eps if r['seed'] in seeds]
            row['collisions_warn'] = sum(r['status'] == 'collision' for r in paired)
            row['collisions_hold'] = sum(r['status'] == 'collision' for r in hold)
            row['hold_episodes'] = len(hold)
            row['held'] = sum(1 for r in hold if any(c['tripped'] for c in r['chunks']))
            row['success_warn'] = sum(r['status'] == 'success' for r in paired)
            row['success_hold'] = sum(r['status'] == 'success' for r in hold)
        out['kinds'][kind] = row
    out['failures'] = failure_detection(records, rule)
    return out


FAILED = ('collision', 'timeout')


def failure_detection(records, rule: Rule) -> Dict:
    """Alarms (any score) as a detector of failed rollouts, whatever caused them: TPR over the
    failed warn episodes (an alarm before the episode ended in collision or timeout), false-alarm
    rate over the successful nominal ones, per group the TPR among its failed episodes, and the
    median lead time (failure time - first alarm)."""
    warn = [r for r in records if r['on_alarm'] == 'warn' and r['group'] != 'calibration']
    failed = [r for r in warn if r['status'] in FAILED]
    ok = [r for r in warn if r['group'] == 'nominal' and r['status'] == 'success']

    def hit(r):
        a = rule.first_alarm(r, rule.scores)
        return a is not None and a < r['t1'] - 1e-6

    leads = [r['t1'] - rule.first_alarm(r, rule.scores) for r in failed if hit(r)]
    out = {'failed': len(failed), 'tpr': float(np.mean([hit(r) for r in failed])) if failed
           else None, 'successful_nominal': len(ok),
           'false_alarm_rate': float(np.mean([hit(r) for r in ok])) if ok else None,
           'median_lead_s': float(np.median(leads)) if leads else None, 'groups': {}}
    for g in ['nominal'] + fault_groups(warn):
        eps = [r for r in warn if r['group'] == g]
        bad = [r for r in eps if r['status'] in FAILED]
        out['groups'][g] = {'episodes': len(eps), 'failed': len(bad),
                            'tpr': float(np.mean([hit(r) for r in bad])) if bad else None}
    return out


def roc(records, rule: Rule):
    """{curve label: (fpr, tpr, auc)} per score (all faults pooled) and per fault for the alarm
    on any score; the statistic is the episode's peak margin (after the onset for faults)."""
    warn = [r for r in records if r['on_alarm'] == 'warn']
    nominal = [r for r in warn if r['group'] == 'nominal']
    pert = [r for r in warn if r['group'] not in ('calibration', 'nominal')
            and r['onset'] is not None]

    def curve(neg, pos):
        neg, pos = np.asarray(neg), np.asarray(pos)
        cuts = np.unique(np.concatenate([neg, pos, [np.inf, -np.inf]]))[::-1]
        return (np.array([(neg > c).mean() for c in cuts]),
                np.array([(pos > c).mean() for c in cuts]), auc(neg, pos))
    curves = {f'{s} (all faults)': curve([rule.peak(r, [s]) for r in nominal],
                                         [rule.peak(r, [s], r['onset']) for r in pert])
              for s in rule.scores}
    for kind in fault_groups(pert):
        pos = [rule.peak(r, rule.scores, r['onset']) for r in pert if r['group'] == kind]
        if pos:
            curves[f'any, {kind}'] = curve([rule.peak(r, rule.scores) for r in nominal], pos)
    return curves


def plot(records, rules: Dict[str, Rule], out: Path, perturb_time: float) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    warn = [r for r in records if r['on_alarm'] == 'warn']
    colors = dict(zip(KINDS, ('tab:red', 'tab:orange', 'tab:purple', 'tab:blue', 'tab:green')))
    const, band = rules['constant'], rules['time-varying']
    fig, axes = plt.subplots(1, len(SCORES), figsize=(5 * len(SCORES), 3.6))
    for ax, s in zip(np.atleast_1d(axes), SCORES):
        t_end = 0.0
        for r in warn:
            if r['group'] == 'calibration' or not r['chunks']:
                continue
            if r['group'] != 'nominal' and r['seed'] >= PERTURBED_SEED + 8:
                continue   # a few perturbed traces per kind, all nominal ones
            t0 = r['chunks'][0]['stamp']
            pts = [(c['stamp'] - t0, c['scores'].get(s)) for c in r['chunks']]
            pts = [(t, v) for t, v in pts if v is not None]
            if pts:
                t, v = zip(*pts)
                t_end = max(t_end, max(t))
                nominal = r['group'] == 'nominal'
                ax.plot(t, v, color='0.6' if nominal else colors.get(r['kind'], 'k'),
                        lw=0.7 if nominal else 1.0, alpha=0.6 if nominal else 0.9)
        if s in const.thresholds:
            ax.axhline(const.thresholds[s], color='k', ls='--', lw=1)
        if s in band.bands:
            grid = np.linspace(0.0, t_end, 200)
            ax.plot(grid, [band.bands[s].threshold(x) for x in grid], color='k', lw=1.4)
        ax.axvline(perturb_time, color='k', ls=':', lw=1)
        ax.set_yscale('log')
        ax.set_title(s)
        ax.set_xlabel('episode time [s] (from the first chunk)')
    handles = [plt.Line2D([], [], color='0.6', label='nominal')] + [
        plt.Line2D([], [], color=c, label=k) for k, c in colors.items()] + [
        plt.Line2D([], [], color='k', ls='--', label='constant threshold'),
        plt.Line2D([], [], color='k', lw=1.4, label='time-varying band')]
    np.atleast_1d(axes)[0].legend(handles=handles, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'traces.png', dpi=80)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 4.2), sharey=True)
    for ax, (name, rule) in zip(axes, rules.items()):
        for label, (fpr, tpr, area) in roc(records, rule).items():
            ax.plot(fpr, tpr, label=f'{label} ({area:.2f})', lw=1,
                    ls='-' if 'all faults' in label else '--')
        ax.axvline(0.05, color='k', ls=':', lw=1)
        ax.set_title(f'{name} (AUC)')
        ax.set_xlabel('false-alarm rate (nominal episodes)')
        ax.legend(fontsize=6)
    axes[0].set_ylabel('true-positive rate (after onset)')
    fig.tight_layout()
    fig.savefig(out / 'roc.png', dpi=80)
    plt.close(fig)


def table(results) -> str:
    def f(v, fmt='.2f'):
        return '' if v is None else format(v, fmt)
    lines = ['| fault | rule | TPR any | ' + ' | '.join(f'TPR {s}' for s in SCORES)
             + ' | alarm before onset | median delay [s] | AUC any |',
             '|---' * (6 + len(SCORES)) + '|']
    for rule, res in results['rules'].items():
        nom = res['nominal']
        lines.append(f'| none (false-alarm rate) | {rule} | ' + ' | '.join(
            f(nom[s]['false_alarm_rate']) for s in ('any',) + SCORES) + ' | | | |')
    groups = list(next(iter(results['rules'].values()))['kinds'])
    for kind in groups:
        for rule, res in results['rules'].items():
            row = res['kinds'].get(kind)
            if row is None:
                continue
            lines.append(f'| {kind} | {rule} | ' + ' | '.join(
                f(row[s]['tpr']) for s in ('any',) + SCORES) + f' | {f(row["early_alarm"])} | '
                f'{f(row["any"]["median_delay_s"])} | {f(row["any"]["auc"])} |')
    lines += ['', 'failure detection (any score, alarm before the collision/timeout; '
              'false alarms on successful nominal episodes):', '',
              '| rule | failed episodes | TPR failed | false-alarm rate | median lead [s] | '
              'TPR among failed, per group |', '|---' * 6 + '|']
    for rule, res in results['rules'].items():
        fd = res['failures']
        per = ', '.join(f'{g} {f(v["tpr"])} ({v["failed"]}/{v["episodes"]})'
                        for g, v in fd['groups'].items() if v['failed'])
        lines.append(f'| {rule} | {fd["failed"]} | {f(fd["tpr"])} | '
                     f'{f(fd["false_alarm_rate"])} | {f(fd["median_lead_s"])} | {per} |')
    held = [(k, rule, row) for rule, res in results['rules'].items()
            for k, row in res['kinds'].items() if 'hold_episodes' in row]
    rule_used = results.get('hold_rule')
    if held:
        lines += ['', f'on_alarm hold ({rule_used} rule in the node), same seeds with warn:', '',
                  '| fault | episodes | held | collisions warn | collisions hold | '
                  'successes warn | successes hold |', '|---' * 7 + '|']
        for k, rule, row in held:
            if rule == rule_used:
                lines.append(f'| {k} | {row["hold_episodes"]} | {row["held"]} | '
                             f'{row["collisions_warn"]} | {row["collisions_hold"]} | '
                             f'{row["success_warn"]} | {row["success_hold"]} |')
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
    from dil_ros.monitor.band import RULES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--run', type=Path, default=Path('runs/demo'))
    p.add_argument('--out', type=Path, default=None)
    p.add_argument('--calibration', type=int, default=100)
    p.add_argument('--nominal', type=int, default=50)
    p.add_argument('--perturbed', type=int, default=50)
    p.add_argument('--hold-episodes', type=int, default=50)
    p.add_argument('--kinds', default=','.join(KINDS[:4]))
    p.add_argument('--vision', action='store_true',
                   help='RUN is a `dil-ros demo --vision` run: the camera variant of the sim')
    p.add_argument('--alpha', type=float, default=0.05)
    p.add_argument('--rtf', type=float, default=1.0)
    p.add_argument('--perturb-time', type=float, default=1.0)
    p.add_argument('--analyse', action='store_true', help='only steps 2-3 on saved episodes')
    p.add_argument('--skip-hold', action='store_true')
    p.add_argument('--no-cost', action='store_true', help='skip the side-by-side cost timing')
    p.add_argument('--record-only', action='store_true',
                   help='only run and save the episodes (split a long run over processes and '
                        'merge their episodes.json; then --analyse)')
    p.add_argument('--merge', type=Path, nargs='+', default=None,
                   help='OUT/episodes.json := the episodes of these --record-only OUT folders')
    p.add_argument('--scores', default='denoise,consistency,novelty',
                   help='scores that may alarm (Bonferroni over them; camera policies: '
                        'denoise,consistency,camera_novelty)')
    p.add_argument('--rule', choices=RULES, default=RULES[0],
                   help='the rule `dil-ros calibrate` stores for the node (hold phase); the '
                        'offline evaluation always compares both')
    p.add_argument('--magnitude', default='',
                   help='KIND=VALUE[,KIND=VALUE]: record these faults at this size (rad, m or N, '
                        'signed: < 0 reverses the direction; sim_node perturb_magnitude) as '
                        'groups KIND@VALUE')
    p.add_argument('--exclude', default='',
                   help='GROUP[,GROUP]: saved episodes of these groups are left out of the '
                        'analysis (e.g. recorded before a fix of their fault)')
    p.add_argument('--extend', action='store_true',
                   help='keep the saved episodes and run only the missing ones (next seeds)')
    args = p.parse_args()
    global SCORES
    SCORES = tuple(x for x in args.scores.split(',') if x)
    out = args.out or args.run / 'monitor_eval'
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.kinds.split(',') if k]
    magnitudes = parse_magnitudes(args.magnitude)
    faults = [(group_name(k, magnitudes.get(k, 0.0)), k, magnitudes.get(k, 0.0)) for k in kinds]
    saved = out / 'episodes.json'
    if args.merge:
        saved.write_text(json.dumps(merge_episodes(
            json.loads((d / 'episodes.json').read_text()) for d in args.merge)))
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
            for group, kind, count, seed, magnitude in groups:
                have = sum(r['group'] == group and r['on_alarm'] == mode for r in old)
                if count > have:
                    todo.append((group, kind, count - have, seed + have, magnitude))
            return todo
        try:
            plan = missing([('calibration', '', args.calibration, SEEDS['calibration'], 0.0),
                            ('nominal', '', args.nominal, SEEDS['nominal'], 0.0)]
                           + [(g, k, args.perturbed, PERTURBED_SEED, m) for g, k, m in faults],
                           'warn')
            t = time.perf_counter()
            records = old + (run_episodes(
                args.run, out, plan, 'warn', args.rtf, args.perturb_time, 'warn',
                lambda done: (out / 'episodes.partial.json').write_text(
                    json.dumps(old + done)), args.vision) if plan else [])
            saved.write_text(json.dumps(records))
            print(f'warn phase: {len(records)} episodes in {time.perf_counter() - t:.0f} s')
            if args.record_only:
                return 0
            plan = missing([(g, k, args.hold_episodes, PERTURBED_SEED, m) for g, k, m in faults],
                           'hold')
            if not args.skip_hold and plan:
                write_calibration_logs(records, out / 'calibration')
                _calibrate(args, out)
                records += run_episodes(args.run, out, plan, 'hold', args.rtf,
                                        args.perturb_time, 'hold', vision=args.vision)
                saved.write_text(json.dumps(records))
        finally:
            rclpy.try_shutdown()
    write_calibration_logs(records, out / 'calibration')
    _calibrate(args, out)   # what the node would apply (the rule of --rule)
    # an episode without a single scored chunk: the node never commanded (a stalled or dead
    # inference thread on a loaded machine), not a monitor outcome: counted, left out
    excluded = {g for g in args.exclude.split(',') if g}
    records = [r for r in records if r['group'] not in excluded]
    dropped = [r for r in records if not r['chunks']]
    records = [r for r in records if r['chunks']]
    rules = make_rules(records, args.alpha)
    results = {'rules': {}, 'hold_rule': args.rule}
    for name, rule in rules.items():
        results['rules'][name] = analyse(records, rule)
        results['rules'][name]['roc_auc'] = {k: v[2] for k, v in roc(records, rule).items()}
    results['thresholds'] = rules['constant'].thresholds
    results['bands'] = {k: b.to_json() for k, b in rules['time-varying'].bands.items()}
    results['episodes_without_chunks'] = {g: sum(r['group'] == g for r in dropped)
                                          for g in sorted({r['group'] for r in dropped})}
    results['alpha'] = args.alpha
    results['calibration_episodes'] = len(calibration_episodes(records))
    results['rtf'] = args.rtf
    results['perturb_time'] = args.perturb_time
    costs = [c['cost_ms'] for r in records for c in r['chunks']]
    results['node_scoring_cost_ms_p50'] = float(np.median(costs)) if costs else None
    lat = [r['latency_ms_p50'] for r in records if r.get('latency_ms_p50')]
    results['node_chunk_latency_ms_p50'] = float(np.median(lat)) if lat else None
    if not args.no_cost:
        results['side_by_side_ms'] = scoring_cost(args.run)
    (out / 'results.json').write_text(json.dumps(results, indent=1))
    md = table(results)
    (out / 'results.md').write_text(md + '\n')
    plot(records, rules, out, args.perturb_time)
    print(md)
    keys = ('side_by_side_ms', 'node_scoring_cost_ms_p50', 'node_chunk_latency_ms_p50')
    print(json.dumps({k: results.get(k) for k in keys}, indent=1))
    return 0


def merge_episodes(lists) -> List[dict]:
    """Concatenate saved episode lists, keeping one episode per (group, mode, seed): folders
    that were extended from the same base may be merged."""
    seen, out = set(), []
    for records in lists:
        for r in records:
            key = (r['group'], r['on_alarm'], r['seed'])
            if key not in seen:
                seen.add(key)
                out.append(r)
    return out


def _calibrate(args, out: Path) -> Dict[str, float]:
    subprocess.run([sys.executable, '-m', 'dil_ros.cli.main', 'calibrate', str(args.run),
                    '--episodes', str(out / 'calibration'), '--alpha', str(args.alpha),
                    '--rule', args.rule, '--scores', ','.join(SCORES)],
                   check=True)
    return json.loads((args.run / 'policy.monitor.json').read_text())['thresholds']


if __name__ == '__main__':
    sys.exit(main())
