"""`dil-ros calibrate`: thresholds from ~/monitor logs, bound to policy.ts; errors name files."""
import json
import shutil

import numpy as np
import pytest

from dil_ros.cli.main import main


@pytest.fixture(scope='module')
def run_dir(export_tiny, tmp_path_factory):
    """A run directory whose policy.monitor.ts is current (calibrate does not rebuild it)."""
    from dil_ros.monitor.sibling import monitor_path
    path = export_tiny('calib')
    run = tmp_path_factory.mktemp('run')
    (run / 'checkpoints').mkdir()
    shutil.copy(path, run / 'policy.ts')
    shutil.copy(monitor_path(path), run / 'policy.monitor.ts')
    return run


def write_logs(folder, n, rng=np.random.default_rng(0)):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        lines = [json.dumps({'stamp': t, 'scores': {'denoise': float(rng.gamma(2.0)),
                                                    'novelty': float(rng.random()),
                                                    'consistency': None if t == 0 else 0.1}})
                 for t in range(4)]
        (folder / f'episode_{i:04d}.jsonl').write_text('\n'.join(lines) + '\n')
    return folder


def test_thresholds_written_next_to_policy_ts_and_read_back(run_dir, tmp_path, capsys):
    from dil_ros.monitor.sibling import read_thresholds
    logs = write_logs(tmp_path / 'logs', 20)
    assert main(['calibrate', str(run_dir), '--episodes', str(logs), '--alpha', '0.15']) == 0
    data = read_thresholds(run_dir / 'policy.ts')
    assert set(data['thresholds']) == {'denoise', 'novelty', 'consistency'}
    assert data['calibration']['episodes'] == 20 and data['calibration']['alpha'] == 0.15
    maxima = sorted(max(json.loads(line)['scores']['denoise'] for line in
                        f.read_text().splitlines()) for f in sorted(logs.glob('*.jsonl')))
    assert data['thresholds']['denoise'] == pytest.approx(maxima[20 - 1])   # k = ceil(21 * .95)
    assert data['thresholds']['consistency'] == pytest.approx(0.1)
    assert 'policy.monitor.json' in capsys.readouterr().out


def test_a_bad_log_line_is_named(run_dir, tmp_path, capsys):
    logs = write_logs(tmp_path / 'logs', 20)
    (logs / 'episode_0003.jsonl').write_text('{"stamp": 1, "scores": {"denoise": 0.1}}\nnope\n')
    assert main(['calibrate', str(run_dir), '--episodes', str(logs)]) == 1
    assert 'episode_0003.jsonl:2: not a ~/monitor message' in capsys.readouterr().err


@pytest.mark.parametrize('args, expect', [
    (['MISSING'], 'MISSING: run directory not found'),
    (['RUN', '--episodes', 'NOWHERE'], 'NOWHERE: episodes directory not found'),
    (['RUN', '--episodes', 'EMPTY'], 'EMPTY: no *.jsonl monitor logs'),
    (['RUN', '--episodes', 'FEW'], 'denoise: 10 calibration episodes cannot give a false-alarm '
                                   'rate of 0.0166667; need at least 59'),
    (['RUN', '--alpha', '2'], '--alpha: must be in (0, 1)'),
    (['RUN', '--scores', 'loss'], "--scores: unknown ['loss']"),
])
def test_errors_name_the_file(run_dir, tmp_path, capsys, args, expect):
    (tmp_path / 'EMPTY').mkdir()
    write_logs(tmp_path / 'FEW', 10)
    names = {'RUN': str(run_dir), 'MISSING': str(tmp_path / 'MISSING'),
             'NOWHERE': str(tmp_path / 'NOWHERE'), 'EMPTY': str(tmp_path / 'EMPTY'),
             'FEW': str(tmp_path / 'FEW')}
    assert main(['calibrate'] + [names.get(a, a) for a in args]) == 1
    err = capsys.readouterr().err
    assert err.startswith('dil-ros calibrate: error:') and expect in err, err
    assert len(err.strip().splitlines()) == 1


def test_thresholds_refused_once_policy_ts_changes(run_dir, tmp_path):
    from dil_ros.monitor.sibling import MonitorError, read_thresholds
    main(['calibrate', str(run_dir), '--episodes', str(write_logs(tmp_path / 'l', 20)),
          '--alpha', '0.15'])
    other = tmp_path / 'policy.ts'
    other.write_bytes((run_dir / 'policy.ts').read_bytes() + b'\0')
    shutil.copy(run_dir / 'policy.monitor.json', tmp_path / 'policy.monitor.json')
    with pytest.raises(MonitorError, match='calibrated for a policy.ts with sha256'):
        read_thresholds(other)


def test_time_varying_bands_stored_and_bad_bands_refused(run_dir, tmp_path):
    from dil_ros.monitor.sibling import MonitorError, read_thresholds
    logs = write_logs(tmp_path / 'logs', 20)
    assert main(['calibrate', str(run_dir), '--episodes', str(logs), '--alpha', '0.15',
                 '--rule', 'time-varying']) == 0
    data = read_thresholds(run_dir / 'policy.ts')
    assert data['calibration']['rule'] == 'time-varying band'
    assert set(data['bands']) == {'denoise', 'novelty', 'consistency'}
    times = data['bands']['denoise'].times    # grid times near chunks (stamps 0, 1, 2, 3)
    assert times[0] == 0.0 and times[-1] == pytest.approx(3.0) and len(times) == 10
    path = run_dir / 'policy.monitor.json'
    raw = json.loads(path.read_text())
    raw['bands']['denoise']['scale'][0] = -1.0
    path.write_text(json.dumps(raw))
    with pytest.raises(MonitorError, match='policy.monitor.json: bands: denoise: band needs'):
        read_thresholds(run_dir / 'policy.ts')
    assert main(['calibrate', str(run_dir), '--episodes', str(logs), '--alpha', '0.15',
                 '--rule', 'constant']) == 0
    assert 'bands' not in read_thresholds(run_dir / 'policy.ts')
