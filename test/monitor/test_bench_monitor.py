"""bench/bench_monitor.py's offline pieces: --magnitude parsing, fault groups, merging
overlapping folders and the failure-detection view, on hand-made episodes (no DDS)."""
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / 'bench' / 'bench_monitor.py'


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_monitor', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def episode(group, status, scores, seed=0, mode='warn', kind=None):
    """One chunk per 0.1 s from t=0; the episode ends after the last chunk."""
    chunks = [{'stamp': 0.1 * i, 'scores': {'denoise': v}} for i, v in enumerate(scores)]
    return {'group': group, 'kind': kind or group.split('@')[0], 'on_alarm': mode,
            'seed': seed, 'status': status, 't0': 0.0, 't1': 0.1 * len(scores),
            'onset': None if group == 'nominal' else 0.1, 'chunks': chunks}


def test_magnitude_option(bench):
    assert bench.parse_magnitudes('push=400, joint_bias=0.4') == {'push': 400.0,
                                                                 'joint_bias': 0.4}
    assert bench.parse_magnitudes('') == {}
    for bad, word in (('shove=3', 'KIND=VALUE'), ('push', 'KIND=VALUE'), ('push=x', 'push'),
                      ('push=0', 'push'), ('push=nan', 'push')):
        with pytest.raises(SystemExit, match=word):
            bench.parse_magnitudes(bad)
    assert bench.group_name('push', 400.0) == 'push@400'
    assert bench.group_name('push') == 'push'
    recs = [episode(g, 'success', [1.0])
            for g in ('push@800', 'nominal', 'goal', 'push@-800', 'push', 'push@400')]
    assert bench.fault_groups(recs) == ['goal', 'push', 'push@-800', 'push@400', 'push@800']


def test_merge_keeps_one_copy(bench):
    base = [episode('nominal', 'success', [1.0], seed=s) for s in range(3)]
    extra = base + [episode('push@400', 'collision', [1.0], seed=0)]
    merged = bench.merge_episodes([base, extra, extra])
    assert [(r['group'], r['seed']) for r in merged] == [
        ('nominal', 0), ('nominal', 1), ('nominal', 2), ('push@400', 0)]


def test_failure_detection(bench):
    rule = bench.Rule('constant', thresholds={'denoise': 2.0})
    recs = ([episode('nominal', 'success', [1.0] * 5, seed=s) for s in range(3)]
            + [episode('nominal', 'success', [1.0, 3.0], seed=3),     # a false alarm
               episode('nominal', 'timeout', [1.0, 3.0, 1.0], seed=4),  # failed, detected
               episode('push@400', 'collision', [1.0, 1.0, 5.0, 1.0], seed=0),  # detected
               episode('push@400', 'collision', [1.0] * 4, seed=1),   # missed
               episode('push@400', 'success', [9.0] * 4, seed=2),     # not a failure
               episode('push@400', 'collision', [9.0], seed=3, mode='hold'),   # hold: ignored
               episode('calibration', 'timeout', [9.0], seed=5)])     # calibration: ignored
    fd = bench.failure_detection(recs, rule)
    assert fd['failed'] == 3
    assert fd['tpr'] == pytest.approx(2 / 3)
    assert fd['false_alarm_rate'] == pytest.approx(1 / 4)
    assert fd['groups']['push@400'] == {'episodes': 3, 'failed': 2, 'tpr': 0.5}
    assert fd['groups']['nominal']['tpr'] == 1.0
    assert fd['median_lead_s'] == pytest.approx(0.2)   # ends 0.3 and 0.4, alarms 0.1 and 0.2
