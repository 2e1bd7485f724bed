"""`dil-ros`: the offline tools (convert, train, export, demo, bench, ...).

Each subcommand lives in its own module under dil_ros/cli/ that defines ``add_arguments(parser)``
and ``run(args) -> int``; modules are imported only when their command runs, so ``dil-ros --help``
stays fast.
"""
import argparse
import importlib
import sys
from typing import List, Optional

from dil_ros.errors import DilRosError

# command name -> (module under dil_ros.cli, one-line help)
COMMANDS = {
    'convert': ('convert', 'convert rosbag2 recordings into a LeRobot v3.0 dataset'),
    'import-zarr': ('import_zarr', "import a Diffusion Policy zarr replay buffer as a dataset"),
    'train': ('train', 'train a diffusion policy (or the MSE baseline) on a dataset'),
    'distill': ('distill', 'distil a trained diffusion run into a 1-3 step student'),
    'export': ('export', 'export a trained run as one TorchScript file (policy.ts)'),
    'demo': ('demo', 'run the end-to-end demo on the embedded simulator'),
    'bench': ('bench', 'run the benchmark suite'),
    'recover': ('recover', 'recover or drop a partial episode left by a killed recorder'),
    'calibrate': ('calibrate', 'build the run-time monitor and calibrate its alarm thresholds'),
}


class CliError(DilRosError):
    """A usage error to show the user as one line (no traceback)."""


def _load(name: str):
    return importlib.import_module(f'dil_ros.cli.{COMMANDS[name][0]}')


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog='dil-ros', description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ('-h', '--help') or argv[0] not in COMMANDS:
        args = parser.parse_args(argv)
        parser.print_help()
        return 2
    module = _load(argv[0])
    cmd_parser = argparse.ArgumentParser(prog=f'dil-ros {argv[0]}',
                                         description=COMMANDS[argv[0]][1])
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except DilRosError as exc:
        print(f'dil-ros {argv[0]}: error: {exc}', file=sys.stderr)
        return 1
    except OSError as exc:  # full disk, permissions: the file and the cause, no traceback
        where = f'{exc.filename}: ' if exc.filename else ''
        print(f'dil-ros {argv[0]}: error: {where}{exc.strerror or exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f'dil-ros {argv[0]}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
