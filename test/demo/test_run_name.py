"""`dil-ros demo --name` stays one folder inside --runs: the demo wipes that folder first."""
from pathlib import Path

import pytest

from dil_ros.cli.main import main
from dil_ros.demo.run_name import run_folder, RunNameError

BAD_NAMES = ['..', '.', '', '../x', 'a/b', '/tmp', 'a\\b', '..\\x', 'x/..']


@pytest.fixture
def runs(tmp_path):
    """A runs/ folder with a sibling and a previous run that must survive a refused name."""
    (tmp_path / 'keep.txt').write_text('sibling of runs/')
    (tmp_path / 'runs' / 'old').mkdir(parents=True)
    (tmp_path / 'runs' / 'old' / 'summary.json').write_text('{}')
    return tmp_path / 'runs'


def _untouched(runs: Path) -> bool:
    return ((runs.parent / 'keep.txt').is_file()
            and (runs / 'old' / 'summary.json').is_file()
            and sorted(p.name for p in runs.parent.iterdir()) == ['keep.txt', 'runs'])


@pytest.mark.parametrize('offline', [False, True])
@pytest.mark.parametrize('name', BAD_NAMES)
def test_cli_refuses_names_that_leave_runs(runs, name, offline, capsys, monkeypatch):
    import dil_ros.demo.offline
    import dil_ros.demo.pipeline

    def must_not_run(*_):
        pytest.fail(f'the demo ran with --name {name!r}')

    monkeypatch.setattr(dil_ros.demo.pipeline, 'run_demo', must_not_run)
    monkeypatch.setattr(dil_ros.demo.offline, 'run_offline', must_not_run)
    argv = ['demo', '--name', name, '--runs', str(runs)] + (['--offline'] if offline else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('dil-ros demo: error: --name '), err
    assert repr(name) in err[0]
    assert _untouched(runs)


def test_run_demo_refuses_before_deleting(runs, monkeypatch):
    """The pipeline checks the name itself (DemoOptions built in code), before its rmtree."""
    rclpy = pytest.importorskip('rclpy')
    from dil_ros.demo.pipeline import DemoOptions, run_demo

    def no_ros():
        raise AssertionError('the pipeline got past its run folder')

    monkeypatch.setattr(rclpy, 'init', no_ros)
    with pytest.raises(RunNameError, match=r"--name '\.\.'"):
        run_demo(DemoOptions(name='..', runs=runs))
    assert _untouched(runs)


@pytest.mark.parametrize('name', ['demo', 'run.2', '..hidden', 'a..b'])
def test_plain_names_are_accepted(tmp_path, name):
    assert run_folder(tmp_path, name) == tmp_path / name
