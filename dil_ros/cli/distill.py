"""`dil-ros distill RUN --steps N --out RUN2`: a 1-3 step student of a trained diffusion run.

Consistency distillation (dil_ros/training/distill.py says how and why). The student run has the
trained run's layout (config.yaml, contract.yaml, checkpoints/latest.pt, tb/, loss.png), so::

    dil-ros distill runs/demo/diffusion --steps 1 --out runs/demo/student
    dil-ros export runs/demo/student -o runs/demo/student.ts     # a normal policy.ts

Ctrl+C stops after the current step with a checkpoint; ``--resume`` continues it.
"""
from pathlib import Path

from dil_ros.cli.main import CliError


def add_arguments(parser) -> None:
    parser.add_argument('run_dir', type=Path, help='trained diffusion run (dil-ros train --out)')
    parser.add_argument('--out', required=True, type=Path, help='student run directory')
    parser.add_argument('--steps', type=int, default=1,
                        help='sampling steps of the student, 1-3 (default 1)')
    parser.add_argument('--train-steps', type=int, default=None,
                        help='optimisation steps (default 12000: the 1-step student within 3 points '
                             'of its teacher on the demo task; on --resume: the run\'s own)')
    parser.add_argument('--teacher-steps', type=int, default=10,
                        help="the teacher's DDIM grid the consistency is learned on (default 10)")
    parser.add_argument('--batch-size', type=int, default=None,
                        help="batch size (default: the teacher's)")
    parser.add_argument('--lr', type=float, default=3e-4, help='peak learning rate')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--resume', action='store_true',
                        help='continue the student in --out from its checkpoint; with '
                             '--train-steps beyond its length, extend it (lr schedule resized)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def run(args) -> int:
    from dil_ros.training.distill import DistillRequest, distill

    extend = args.resume and args.train_steps is not None
    if args.train_steps is None:
        args.train_steps = 12000
    for flag in ('train_steps', 'teacher_steps'):
        if getattr(args, flag) < 1:
            raise CliError(f'--{flag.replace("_", "-")} must be >= 1, got {getattr(args, flag)}')
    if not 1 <= args.steps <= 3:
        raise CliError(f'--steps must be 1, 2 or 3, got {args.steps}')
    if args.batch_size is not None and args.batch_size < 1:
        raise CliError(f'--batch-size must be >= 1, got {args.batch_size}')
    if not args.resume and not args.run_dir.is_dir():
        raise CliError(f'{args.run_dir}: run directory not found')
    result = distill(DistillRequest(
        teacher=args.run_dir, out=args.out, steps=args.steps, train_steps=args.train_steps,
        teacher_steps=args.teacher_steps, batch_size=args.batch_size, lr=args.lr,
        resume=args.resume, progress=not args.no_progress, seed=args.seed, extend=extend))
    if result.stopped == 'interrupted':
        print(f'interrupted at step {result.step}; continue with --resume')
    print(f'step {result.step}, loss {result.final_loss:.5f}')
    print(f'checkpoint: {result.out / "checkpoints" / "latest.pt"}')
    print(f'export:     dil-ros export {result.out}')
    print(f'tensorboard --logdir {result.out / "tb"}')
    return 130 if result.stopped == 'interrupted' else 0
