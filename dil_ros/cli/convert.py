"""`dil-ros convert BAG... --contract C --out DATASET`: rosbag2 recordings to LeRobot v3.0.

Topics are put on the policy grid by the contract's ``sampling`` rule, the one the policy node
uses at run time; to sample otherwise, change the contract (and train on the result).
"""
import argparse

from dil_ros.cli.main import CliError
from dil_ros.data.jumps import ON_JUMP


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
    parser.add_argument('--max-staleness', type=float, default=None, metavar='S',
                        help="carry an observation's last value up to S seconds past its last "
                             "message (default 0.5, the policy node's observation_timeout_s); "
                             "a contract key's max_age_s wins")
    parser.add_argument('--on-jump', choices=ON_JUMP, default='split',
                        help='frames where the action and the measured state disagree (a reset, '
                             'a blocked joint): split the episode there (default), drop the '
                             'episode, or keep it; each case is reported')
    parser.add_argument('--max-state-error', type=float, default=None, metavar='E',
                        help="largest |action - measured state| per joint (default: the "
                             "contract's action.max_state_error, else 0.5 s at max_velocity)")
    parser.add_argument('--task', default='', help='task text stored with every episode')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dataset')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    from dil_ros.contract import resolve_contract
    from dil_ros.data.convert import convert_bags, ConvertOptions, DEFAULT_MAX_STALENESS_S
    for flag in ('gap_threshold', 'max_staleness', 'max_state_error'):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise CliError(f'--{flag.replace("_", "-")} must be > 0, got {value}')
    contract = resolve_contract(args.contract)
    options = ConvertOptions(gap_threshold_s=args.gap_threshold, trim_idle=args.trim_idle,
                             task=args.task, header_stamps=not args.receive_stamps,
                             on_jump=args.on_jump, max_state_error=args.max_state_error,
                             max_staleness_s=args.max_staleness or DEFAULT_MAX_STALENESS_S)
    report = convert_bags(args.bags, contract, args.out, options, overwrite=args.overwrite,
                          progress=not args.quiet)
    print(report.summary())
    return 0 if report.converted else 1
