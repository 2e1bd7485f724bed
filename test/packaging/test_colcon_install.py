"""colcon build installs dil_ros so that `ros2 run`, launch_ros and `dil-ros` find what they start.

Builds a clone of this checkout in a temporary workspace with colcon from PyPI, run as
`python -m colcon build` by this interpreter (README, "On a ROS 2 machine"), then starts what it
installed the way ros2 run does: the file itself, through its shebang, after sourcing
install/setup.bash. Skips where pip cannot install colcon.
"""
import configparser
import os
from pathlib import Path
import shutil
import subprocess
import sys
import time

import pytest

from colcon_workspace import clone_into, colcon_build, ROOT, sourced_environment

pytestmark = pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash to source')
NODE_START_S = 90.0


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('ws')
    clone_into(ws / 'src' / 'dil_ros')
    built = colcon_build(ws)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return ws


@pytest.fixture(scope='module')
def prefix(workspace):
    return workspace / 'install' / 'dil_ros'


@pytest.fixture(scope='module')
def env(workspace):
    return sourced_environment(workspace)


@pytest.fixture(scope='module')
def console_scripts(prefix):
    """Console script names from the installed metadata (setup.py's entry_points)."""
    (entry_points,) = prefix.glob('lib/python*/site-packages/dil_ros-*.egg-info/entry_points.txt')
    parser = configparser.ConfigParser()
    parser.read(entry_points)
    return sorted(parser['console_scripts'])


def test_installs_the_ament_layout(prefix):
    assert (prefix / 'share/ament_index/resource_index/packages/dil_ros').is_file()
    share = prefix / 'share' / 'dil_ros'
    assert (share / 'package.xml').read_text() == (ROOT / 'package.xml').read_text()
    for pattern in ('launch/*launch.py', 'config/*.yaml', 'config/contracts/*.yaml', 'urdf/*'):
        wanted = sorted(p.relative_to(ROOT) for p in ROOT.glob(pattern))
        assert wanted, pattern
        assert sorted(p.relative_to(share) for p in share.glob(pattern)) == wanted


def test_setup_py_gives_setuptools_nothing_to_warn_about(workspace):
    log = (workspace / 'log' / 'latest_build' / 'dil_ros' / 'stderr.log').read_text()
    assert 'Unknown distribution option' not in log, log


def test_every_console_script_is_in_lib_with_the_building_python(prefix, console_scripts):
    assert {'dil-ros', 'policy_node'} <= set(console_scripts)
    lib = prefix / 'lib' / 'dil_ros'
    assert sorted(p.name for p in lib.iterdir()) == console_scripts
    for name in console_scripts:
        script = lib / name
        assert os.access(script, os.X_OK), script
        assert script.read_text().splitlines()[0] == f'#!{sys.executable}', script


def test_the_sourced_workspace_runs_its_own_copy(workspace, prefix, env):
    interpreter = (prefix / 'lib/dil_ros/policy_node').read_text().splitlines()[0][2:]
    shown = subprocess.run([interpreter, '-c', 'import dil_ros; print(dil_ros.__file__)'],
                           cwd=workspace, env=env, capture_output=True, text=True, timeout=60,
                           check=True)
    assert Path(shown.stdout.strip()).is_relative_to(prefix), shown.stdout


def test_dil_ros_is_on_path_after_sourcing(prefix, env):
    found = shutil.which('dil-ros', path=env['PATH'])
    assert found == str(prefix / 'bin' / 'dil-ros')
    for argv in (['--help'], ['export', '--help']):  # `export --help` imports its module (torch)
        shown = subprocess.run([found] + argv, env=env, capture_output=True, text=True,
                               timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert 'usage: dil-ros' in shown.stdout


@pytest.mark.ros
def test_every_node_comes_up_from_its_installed_executable(
        prefix, env, console_scripts, ros_context, tmp_path):
    """Each node script, started as ros2 run starts it (through its shebang), joins the graph."""
    rclpy = ros_context
    nodes = [name for name in console_scripts if name.endswith('_node')]
    assert nodes
    procs = {}
    for name in nodes:
        log = (tmp_path / f'{name}.log').open('w')
        procs[name] = subprocess.Popen(
            [str(prefix / 'lib' / 'dil_ros' / name), '--ros-args', '-r',
             f'__node:=installed_{name}'],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    probe = rclpy.create_node('installed_nodes_probe')
    try:
        deadline = time.monotonic() + NODE_START_S
        missing = set(nodes)
        while missing and time.monotonic() < deadline:
            up = {n for n, _ in probe.get_node_names_and_namespaces()}
            missing = {n for n in missing if f'installed_{n}' not in up}
            for name in missing:
                assert procs[name].poll() is None, (
                    f'{name} exited {procs[name].returncode}:\n'
                    + (tmp_path / f'{name}.log').read_text()[-3000:])
            time.sleep(0.2)
        assert not missing, f'not on the graph after {NODE_START_S:.0f} s: {sorted(missing)}'
    finally:
        probe.destroy_node()
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
