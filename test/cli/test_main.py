"""`dil-ros`: errors are one line on stderr and exit 1, no traceback."""
import errno

from dil_ros.cli import main as cli
from dil_ros.cli import recover


def test_os_error_is_one_line(tmp_path, monkeypatch, capsys):
    def full(args):
        raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'episode_0000'))
    monkeypatch.setattr(recover, 'run', full)
    assert cli.main(['recover', str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f'dil-ros recover: error: {tmp_path / "episode_0000"}: No space left on device\n')


def test_dil_ros_error_is_one_line(tmp_path, capsys):
    assert cli.main(['recover', str(tmp_path / 'nope')]) == 1
    assert capsys.readouterr().err == (
        f'dil-ros recover: error: {tmp_path / "nope"}: not a session folder\n')
