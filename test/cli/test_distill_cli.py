"""`dil-ros distill` usage errors are one line naming the option or directory."""
from dil_ros.cli.main import main


def test_bad_steps_and_missing_run_are_one_line(tmp_path, capsys):
    assert main(['distill', str(tmp_path), '--out', str(tmp_path / 's'), '--steps', '5']) == 1
    assert 'dil-ros distill: error: --steps must be 1, 2 or 3, got 5' in capsys.readouterr().err
    assert main(['distill', str(tmp_path / 'nope'), '--out', str(tmp_path / 's')]) == 1
    assert 'run directory not found' in capsys.readouterr().err
    assert main(['distill', str(tmp_path), '--out', str(tmp_path / 's')]) == 1
    assert 'not a training run directory' in capsys.readouterr().err
