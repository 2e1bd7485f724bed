"""`dil-ros bench --quick --sections a --tiny` end to end (eager and policy.ts only: seconds)."""
import json

from dil_ros.cli.main import main


def test_quick_tiny_section_a_writes_markdown_and_json(tmp_path, capsys):
    out = tmp_path / 'bench'
    rc = main(['bench', '--quick', '--tiny', '--sections', 'a', '--forms', 'eager,torchscript',
               '--iters', '3', '--out', str(out)])
    assert rc == 0, capsys.readouterr()
    report = json.loads((out / 'latest.json').read_text())
    assert report['machine']['torch'] and report['machine']['logical_cores'] >= 1
    section = report['sections']['a']
    assert section['status'] == 'ok', section
    forms = {row['form']: row for row in section['rows']}
    assert set(forms) == {'eager', 'torchscript'}
    assert forms['torchscript']['parity_ok'] and forms['torchscript']['p99_ms'] > 0
    assert forms['torchscript']['speedup_vs_eager'] > 0
    text = (out / 'latest.md').read_text()
    assert '| tiny | [16, 32] | torchscript |' in text and 'median_ms' in text
    assert '| tiny | torchscript |' in text and 'load average' in text   # the summary table
    assert len(list(out.glob('bench-*.json'))) == 1


def test_failing_and_unknown_sections(tmp_path, capsys):
    assert main(['bench', '--sections', 'z', '--out', str(tmp_path)]) == 1
    assert 'unknown' in capsys.readouterr().err
    # a section that fails is reported, and the suite still writes its report
    rc = main(['bench', '--sections', 'a', '--device', 'tpu', '--out', str(tmp_path)])
    report = json.loads((tmp_path / 'latest.json').read_text())
    section = report['sections']['a']
    assert rc == 1 and section['status'] == 'failed' and "got 'tpu'" in section['reason']
    assert '## a. chunk latency' in (tmp_path / 'latest.md').read_text()


def test_summaries_name_the_fastest_form_within_parity_and_jitter_per_option():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))
    import suite
    a = [{'net': 'small', 'form': 'eager', 'median_ms': 60.0, 'p99_ms': 70.0, 'parity_ok': True},
         {'net': 'small', 'form': 'onnx', 'median_ms': 30.0, 'p99_ms': 31.0, 'parity_ok': True,
          'max_abs_err': 1e-6},
         {'net': 'small', 'form': 'openvino_f16', 'median_ms': 5.0, 'p99_ms': 6.0,
          'parity_ok': False}]
    assert suite.summary('a', a) == [{'net': 'small', 'fastest form': 'onnx', 'median ms': 30.0,
                                      'p99 ms': 31.0, 'vs eager': '2.00x', 'max abs err': 1e-6}]
    b = [{'net': 'small', 'impl': 'lerobot.select_action', 'median_ms': 60.0, 'p99_ms': 1.0},
         {'net': 'small', 'impl': 'eager', 'median_ms': 50.0, 'p99_ms': 1.0},
         {'net': 'small', 'impl': 'openvino', 'median_ms': 10.0, 'p99_ms': 12.0}]
    row, = suite.summary('b', b)
    assert (row['fastest form'], row['vs LeRobot'], row['vs eager']) == \
        ('openvino', '6.00x', '5.00x')
    d = [{'cpu_count': 2}, {'name': 'jitter_process', 'option': 'process',
                            'loop_jitter_p50_ms': 0.1, 'loop_jitter_p99_ms': 0.9,
                            'loop_jitter_max_ms': 3.0, 'inference_p50_ms': 40.0,
                            'obs_to_command_p99_ms': 60.0, 'max_command_gap_ms': 20.0,
                            'loop_periods': 500}]
    assert [r['jitter p99 ms'] for r in suite.summary('d', d)] == [0.9]
    from dil_ros.accel.parity import TOLERANCE
    assert suite._tolerance('openvino_pinned', TOLERANCE) == TOLERANCE['openvino']
    assert suite._tolerance('openvino_f32', TOLERANCE) == TOLERANCE['onnx']
    assert suite._tolerance('onnx_nospin', TOLERANCE) == TOLERANCE['onnx']
