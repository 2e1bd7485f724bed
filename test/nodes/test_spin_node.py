"""Console entries of the plain nodes: bad input found while the node is made is one line and a
non-zero exit, no traceback."""
from pathlib import Path
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros
pytest.importorskip('rclpy')


def _run(program, *params):
    """Run a node's console entry (beside this interpreter) with ROS parameters; (rc, output)."""
    exe = Path(sys.executable).parent / program
    if not exe.exists():
        pytest.skip(f'{program} console entry not installed beside {sys.executable}')
    args = [str(exe), '--ros-args'] + [a for p in params for a in ('-p', p)]
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def bad_contract(tmp_path, contract_path):
    path = tmp_path / 'bad.yaml'
    path.write_text(contract_path.read_text().replace('rate_hz: 10.0', 'rate_hz: -1'))
    return path


@pytest.mark.parametrize('program', ['recorder_node', 'teleop_node'])
def test_bad_contract_is_one_line(program, bad_contract):
    rc, out = _run(program, f'contract:={bad_contract}')
    assert rc == 1 and 'Traceback' not in out
    assert out.startswith(f'{program}: error: {bad_contract}: rate_hz: ')
    assert out.count('\n') == 1


def test_bad_recorder_parameter_is_one_line(tmp_path):
    rc, out = _run('recorder_node', f'output_dir:={tmp_path / "s"}',
                   "extra_topics:=['/x:sensor_msgs/Image']")
    assert rc == 1 and out == ("recorder_node: error: extra_topics[0] '/x:sensor_msgs/Image': "
                               "message type 'sensor_msgs/Image' is not 'pkg/msg/Type'\n")
