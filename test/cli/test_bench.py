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
