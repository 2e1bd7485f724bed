"""A colcon workspace holding this checkout, built as the README's ROS-machine recipe builds it.

colcon comes from PyPI, installed once into a cache folder keyed by Python version and
requirement, and is put on the path *after* this interpreter's own site-packages, as apt's colcon
is seen from a venv made with --system-site-packages. The build runs `python -m colcon build` with
this interpreter, so the installed scripts' shebangs name it, as they name the venv's python in the
recipe.
"""
import hashlib
import os
from pathlib import Path
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLCON_REQUIREMENT = 'colcon-common-extensions'
# what a fresh clone lacks; used only where git cannot list the files
NOT_IN_CLONE = shutil.ignore_patterns('.git', '.venv', 'build', 'install', 'log', 'runs',
                                      '__pycache__', '*.egg-info', '.pytest_cache', '*.pyc')


def colcon_path() -> Path:
    """Folder with colcon installed from PyPI (cached); skips the test where pip cannot."""
    cache = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'dil_ros'
    key = hashlib.sha256(f'{sys.version_info[:2]} {COLCON_REQUIREMENT}'.encode()).hexdigest()
    target = cache / f'colcon-py{sys.version_info[0]}{sys.version_info[1]}-{key[:12]}'
    if (target / 'colcon' / '__main__.py').is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix='colcon-', dir=cache))
    try:
        done = subprocess.run(
            [sys.executable, '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
             '--target', str(partial), COLCON_REQUIREMENT],
            capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        why = 'timed out' if done is None else (done.stderr.strip().splitlines() or ['?'])[-1]
        pytest.skip(f'pip cannot install {COLCON_REQUIREMENT}: {why}')
    try:
        partial.rename(target)
    except OSError:  # another test process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def clone_into(dest: Path) -> None:
    """Copy the files a clone of this checkout would have (tracked and new, not ignored)."""
    listed = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        shutil.copytree(ROOT, dest, symlinks=True, ignore=NOT_IN_CLONE)
        return
    for rel in filter(None, listed.stdout.split('\0')):
        src = ROOT / rel
        if os.path.lexists(src) and not src.is_dir():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)


def colcon_build(workspace: Path) -> subprocess.CompletedProcess:
    """`python -m colcon build` in workspace (its src/ holds the package), this interpreter."""
    env = dict(os.environ)
    env.pop('COLCON', None)
    env['PYTHONPATH'] = os.pathsep.join(
        [sysconfig.get_paths()['purelib'], str(colcon_path())]
        + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    env['COLCON_HOME'] = str(workspace / '.colcon')  # no user defaults or mixins
    return subprocess.run(
        [sys.executable, '-m', 'colcon', 'build', '--base-paths', 'src'],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=300)


def sourced_environment(workspace: Path) -> dict:
    """The environment after `source install/setup.bash` (what ros2 run / ros2 launch see)."""
    shown = subprocess.run(
        ['bash', '-c', 'source install/setup.bash && env -0'],
        cwd=workspace, capture_output=True, text=True, timeout=60, check=True)
    return dict(item.split('=', 1) for item in shown.stdout.split('\0') if '=' in item)
