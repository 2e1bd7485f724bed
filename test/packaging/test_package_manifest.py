"""package.xml declares what the code, launch files and configs use, and nothing they don't.

ROS packages are found by what dil_ros/ and launch/ import (module name = package name) and what
the launch files, configs and URDF name; Python dependencies are the lines of requirements.txt.
"""
import ast
import importlib.metadata
from pathlib import Path
import re
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(*folders):
    """Top-level modules imported (absolutely, or by pytest.importorskip) under folders."""
    found = set()
    for folder in folders:
        for path in (ROOT / folder).rglob('*.py'):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split('.')[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    found.add(node.module.split('.')[0])
                elif (isinstance(node, ast.Call) and node.args
                      and getattr(node.func, 'attr', '') == 'importorskip'
                      and isinstance(node.args[0], ast.Constant)):
                    found.add(str(node.args[0].value).split('.')[0])
    return found - set(sys.stdlib_module_names) - {'dil_ros'}


def _canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def _requirements():
    names = set()
    for line in (ROOT / 'requirements.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line:
            names.add(_canonical(re.split(r'[<>=!~;\[ ]', line)[0]))
    return names


def _python_deps(modules):
    """The modules that come from a requirements.txt distribution (as installed here)."""
    dists = importlib.metadata.packages_distributions()
    wanted = _requirements()
    return {m for m in modules if {_canonical(d) for d in dists.get(m, [])} & wanted}


@pytest.fixture(scope='module')
def manifest():
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(ROOT / 'package.xml', parser).getroot()
    comments = ' '.join(c.text for c in root.iter() if c.tag is ET.Comment)
    return {'exec': {e.text for e in root.findall('exec_depend')},
            'test': {e.text for e in root.findall('test_depend')},
            'comments': comments}


def test_every_ros_package_imported_is_an_exec_depend(manifest):
    modules = _imports('dil_ros', 'launch')
    ros = modules - _python_deps(modules)
    assert 'rclpy' in ros and 'ament_index_python' in ros
    missing = sorted(ros - manifest['exec'])
    assert not missing, f'package.xml: no <exec_depend> for imported {missing} ' \
                        '(a Python package belongs in requirements.txt instead)'


def test_every_ros_exec_depend_is_used(manifest):
    used = _imports('dil_ros', 'launch')
    text = ' '.join(p.read_text() for pattern in ('launch/*.py', 'config/**/*.yaml', 'urdf/*')
                    for p in ROOT.glob(pattern))
    used |= set(re.findall(r'[a-z][a-z0-9_]*', text))
    unused = sorted(d for d in manifest['exec'] if not d.startswith('python3-') and d not in used)
    assert not unused, f'package.xml: <exec_depend> on {unused}, which nothing uses'


def test_every_test_depend_is_imported_by_the_tests(manifest):
    used = _imports('test')
    unused = sorted(d for d in manifest['test'] if not d.startswith('python3-') and d not in used)
    assert not unused, f'package.xml: <test_depend> on {unused}, which no test imports'


def test_python_dependencies_have_a_rosdep_key_or_are_named(manifest):
    """Each requirements.txt line is a python3-* key, or named in a comment for pip."""
    assert 'requirements.txt' in manifest['comments']
    declared = manifest['exec'] | manifest['test']
    unnamed = []
    for name in sorted(_requirements()):
        keys = {f'python3-{name}', f'python3-{name}-pip', f'python3-{name.removeprefix("py")}'}
        named = re.search(rf'(?<![\w-]){re.escape(name)}(?![\w-])', manifest['comments'])
        if not (keys & declared or named):
            unnamed.append(name)
    assert not unnamed, f'package.xml: no rosdep key and no mention of {unnamed}'


def test_torch_comes_from_pip_not_the_distribution(manifest):
    """rosdep's python3-torch is the distribution's old build; torch is pip's, pinned."""
    assert 'python3-torch' not in manifest['exec']
    assert re.search(r'(?<![\w-])torch(?![\w-])', manifest['comments'])
