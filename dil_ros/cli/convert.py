"""`dil-ros convert BAG... --contract C --out DATASET`: rosbag2 recordings to LeRobot v3.0.

Topics are put on the policy grid by the contract's ``sampling`` rule, the one the policy node
uses at run time; to sample otherwise, change the contract (and train on the result).
"""
import argparse

from dil_ros.cli.main import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('bags', nargs='+', metavar='BAG',
                        help='rosbag2 directories (MCAP or sqlite3, split or not), storage files, '
                             'or folders of bag directories; one episode per bag')
    parser.add_argument('--contract', default=None,
                        help='contract YAML (default: config/contracts/mujoco_arm.yaml)')
    parser.add_argument('--out', required=True, help='dataset directory to create')
    parser.add_argument('--gap-threshold', type=float, default=None, metavar='S',
                        help='report topic gaps longer than S seconds (default 3 grid periods)')
    parser.add_argument('--trim-idle', action='store_true',
                        help='drop idle starts/ends where the action does not change')
    parser.add_argument('--receive-stamps', action='store_true',
                        help="time messages by the bag's receive stamps, even those with a "
                             'header stamp (default: header stamp where non-zero)')
    parser.add_argument('--task', default='', help='task text stored with every episode')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dataset')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    from dil_ros.contract import resolve_contract
    from dil_ros.data.convert import convert_bags, ConvertOptions
    if args.gap_threshold is not None and args.gap_threshold <= 0:
        raise CliError(f'--gap-threshold must be > 0, got {args.gap_threshold}')
    contract = resolve_contract(args.contract)
    options = ConvertOptions(gap_threshold_s=args.gap_threshold, trim_idle=args.trim_idle,
                             task=args.task, header_stamps=not args.receive_stamps)
    report = convert_bags(args.bags, contract, args.out, options, overwrite=args.overwrite,
                          progress=not args.quiet)
    print(report.summary())
    return 0 if report.converted else 1
