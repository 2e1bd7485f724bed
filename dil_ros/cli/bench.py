"""`dil-ros bench`: the benchmark suite (bench/suite.py of the source checkout).

The suite lives beside the package, not in it (it drives other bench/ scripts and optional
extras such as lerobot); this module finds it next to the dil_ros package and hands over.
"""
import importlib.util
from pathlib import Path

import dil_ros
from dil_ros.errors import DilRosError

SUITE = Path(dil_ros.__file__).resolve().parent.parent / 'bench' / 'suite.py'


def _suite():
    if not SUITE.is_file():
        raise DilRosError(f'{SUITE}: not found; the benchmark suite runs from a source checkout '
                          f'of dil_ros (pip install -e .)')
    spec = importlib.util.spec_from_file_location('dil_ros_bench_suite', SUITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_arguments(parser) -> None:
    try:
        _suite().add_arguments(parser)
    except DilRosError as exc:
        parser.epilog = str(exc)


def run(args) -> int:
    return _suite().run(args)
