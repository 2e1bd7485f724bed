"""`dil-ros train`: train a diffusion policy (or, with --baseline, the MSE regression baseline).

One process::

    dil-ros train --dataset data/pusht --config config/train_default.yaml --out runs/pusht

Without --config: train_default.yaml (Chi et al.'s U-Net) on a CUDA device, train_small.yaml on
a CPU; the first line printed names the config and why.

Hold out the last 10 % of the episodes for a validation loss, and stop after 20 minutes (the lr
schedule is sized to fit; see dil_ros/training/schedule.py)::

    dil-ros train --dataset data/pusht --out runs/pusht --val-episodes 0.1 --time-limit 20m

Several GPUs (or CPU processes) with DistributedDataParallel::

    torchrun --nproc_per_node 4 -m dil_ros.cli.main train --dataset ... --out ...

Resume an interrupted run (same step count, optimizer, scheduler, EMA, episode split)::

    dil-ros train --dataset data/pusht --out runs/pusht --resume

Ctrl+C stops after the current step with a checkpoint, the summary and the loss plot.
"""
from pathlib import Path

from dil_ros.cli.main import CliError

DATASET_CONTRACT = 'contract.yaml'   # written beside the data by `dil-ros import-zarr`


def add_arguments(parser) -> None:
    parser.add_argument('--dataset', required=True, type=Path,
                        help='LeRobot v3.0 dataset directory')
    parser.add_argument('--config', type=Path, default=None,
                        help='training config YAML (default: config/train_default.yaml, Chi et '
                             "al.'s U-Net, on a CUDA device, else config/train_small.yaml); a "
                             'resumed run uses its own')
    parser.add_argument('--out', required=True, type=Path,
                        help='run directory to create (or resume)')
    parser.add_argument('--resume', action='store_true',
                        help='continue the run in --out from its checkpoint')
    parser.add_argument('--steps', type=int, default=None,
                        help='total steps (overrides the config)')
    parser.add_argument('--contract', type=Path, default=None,
                        help=f'robot contract YAML (default: DATASET/{DATASET_CONTRACT} when the '
                             'dataset has one, else config/contracts/mujoco_arm.yaml)')
    parser.add_argument('--episodes', default=None, metavar='SPEC',
                        help="episodes to train on: 'all' (default: those not held out), "
                             "'0:90', '0:40,45:100', '3,7,9' or a fraction such as 0.9 "
                             '(the first 90 %%)')
    parser.add_argument('--val-episodes', default=None, metavar='SPEC',
                        help="episodes held out for the validation loss: 'none' (default), "
                             "'90:100', or a fraction such as 0.1 (the last 10 %%)")
    parser.add_argument('--time-limit', default=None, metavar='DURATION',
                        help='wall-clock budget (90, 90s, 20m, 1.5h, 1h30m): stop with a '
                             'checkpoint when spent; the lr schedule is sized to fit it')
    parser.add_argument('--baseline', action='store_true',
                        help='train the MSE regression baseline instead of the diffusion policy')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def dataset_contract(dataset: Path, given) -> Path:
    """--contract, else the dataset's own contract.yaml, else None (the default robot's)."""
    if given is not None:
        return given
    own = Path(dataset) / DATASET_CONTRACT
    return own if own.is_file() else None


def run(args) -> int:
    from dil_ros.contract import resolve_contract
    from dil_ros.training.config import default_config, load_run_config
    from dil_ros.training.stopping import format_duration, parse_duration
    from dil_ros.training.trainer import TrainRequest, train

    if args.steps is not None and args.steps < 1:
        raise CliError(f'--steps must be >= 1, got {args.steps}')
    time_limit = parse_duration(args.time_limit) if args.time_limit is not None else None
    config = contract = None
    if not args.resume:
        path, why = (args.config, 'given') if args.config else default_config()
        print(f'config: {path} ({why})', flush=True)
        config = load_run_config(path)
        path = dataset_contract(args.dataset, args.contract)
        contract = resolve_contract(path)
        print(f'contract: {contract.source}')
    else:
        ignored = [flag for flag, value in (('--config', args.config),
                                            ('--contract', args.contract),
                                            ('--episodes', args.episodes),
                                            ('--val-episodes', args.val_episodes)) if value]
        if ignored:
            print(f"note: --resume uses the run's own config, contract and episode split; "
                  f'{", ".join(ignored)} ignored')
    kind = 'regression' if args.baseline else 'diffusion'
    result = train(TrainRequest(dataset=args.dataset, run_dir=args.out, config=config,
                                contract=contract, kind=kind, resume=args.resume,
                                steps=args.steps, progress=not args.no_progress,
                                episodes=args.episodes, val_episodes=args.val_episodes,
                                time_limit_s=time_limit))
    if result.checkpoint is None:
        return 0
    if result.stopped == 'interrupted':
        print(f'interrupted at step {result.step}; continue with --resume')
    elif result.stopped == 'time limit':
        print(f'time limit ({format_duration(time_limit)}) reached at step {result.step}')
    val = f', validation loss {result.val_loss:.5f}' if result.val_loss is not None else ''
    print(f'step {result.step}, loss {result.final_loss:.5f}{val}, '
          f'{result.samples_per_s:.0f} samples/s')
    print(f'checkpoint: {result.checkpoint}')
    print(f'loss plot:  {result.run_dir / "loss.png"}')
    print(f'tensorboard --logdir {result.run_dir / "tb"}')
    return 130 if result.stopped == 'interrupted' else 0
