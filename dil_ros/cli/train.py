"""`dil-ros train`: train a diffusion policy (or, with --baseline, the MSE regression baseline).

One process::

    dil-ros train --dataset data/pusht --config config/train_default.yaml --out runs/pusht

Several GPUs (or CPU processes) with DistributedDataParallel::

    torchrun --nproc_per_node 4 -m dil_ros.cli.main train --dataset ... --out ...

Resume an interrupted run (same step count, optimizer, scheduler, EMA)::

    dil-ros train --dataset data/pusht --out runs/pusht --resume
"""
from pathlib import Path

from dil_ros.cli.main import CliError


def add_arguments(parser) -> None:
    parser.add_argument('--dataset', required=True, type=Path,
                        help='LeRobot v3.0 dataset directory')
    parser.add_argument('--config', type=Path, default=None,
                        help='training config YAML (default: config/train_default.yaml); '
                             'a resumed run uses its own')
    parser.add_argument('--out', required=True, type=Path,
                        help='run directory to create (or resume)')
    parser.add_argument('--resume', action='store_true',
                        help='continue the run in --out from its checkpoint')
    parser.add_argument('--steps', type=int, default=None,
                        help='total steps (overrides the config)')
    parser.add_argument('--contract', type=Path, default=None,
                        help='robot contract YAML (default: config/contracts/mujoco_arm.yaml)')
    parser.add_argument('--baseline', action='store_true',
                        help='train the MSE regression baseline instead of the diffusion policy')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def run(args) -> int:
    from dil_ros.contract import resolve_contract
    from dil_ros.training.config import config_dir, load_run_config
    from dil_ros.training.trainer import TrainRequest, train

    if args.steps is not None and args.steps < 1:
        raise CliError(f'--steps must be >= 1, got {args.steps}')
    config = contract = None
    if not args.resume:
        config = load_run_config(args.config or config_dir() / 'train_default.yaml')
        contract = resolve_contract(args.contract)
    elif args.config is not None or args.contract is not None:
        print("note: --resume uses the run's own config and contract; "
              '--config/--contract ignored')
    kind = 'regression' if args.baseline else 'diffusion'
    result = train(TrainRequest(dataset=args.dataset, run_dir=args.out, config=config,
                                contract=contract, kind=kind, resume=args.resume,
                                steps=args.steps, progress=not args.no_progress))
    if result.checkpoint is not None:
        print(f'step {result.step}, loss {result.final_loss:.5f}, '
              f'{result.samples_per_s:.0f} samples/s')
        print(f'checkpoint: {result.checkpoint}')
        print(f'loss plot:  {result.run_dir / "loss.png"}')
        print(f'tensorboard --logdir {result.run_dir / "tb"}')
    return 0
