"""The conftest watchdog ends a hanging test: stacks printed, children killed, exit code 3."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HANG = 'DIL_ROS_WATCHDOG_HANG'


@pytest.mark.skipif(not os.environ.get(HANG), reason='run only by test_watchdog_ends_a_hang')
def test_hang():
    child = subprocess.Popen(['sleep', '120'])
    Path(os.environ[HANG]).write_text(str(child.pid))
    time.sleep(120)


def test_watchdog_ends_a_hang(tmp_path):
    pid_file = tmp_path / 'child.pid'
    env = dict(os.environ, **{HANG: str(pid_file), 'DIL_ROS_TEST_LIMIT_S': '3'})
    started = time.monotonic()
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                           f'{__file__}::test_hang'], env=env, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parents[1])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert time.monotonic() - started < 40
    assert 'WATCHDOG: test/test_watchdog.py::test_hang ran past 3 s' in proc.stderr
    assert 'in test_hang' in proc.stderr                  # the hanging test's stack
    child = int(pid_file.read_text())
    time.sleep(0.2)
    state = Path(f'/proc/{child}/stat')
    assert not state.exists() or state.read_text().split()[2] == 'Z', 'child still running'
