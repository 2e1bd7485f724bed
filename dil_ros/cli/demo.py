"""`dil-ros demo`: the whole product end to end on the embedded MuJoCo arm, over ROS 2.

record expert demonstrations (sim_node + expert_node + recorder_node) -> convert the bags ->
train a diffusion policy and an MSE baseline -> export policy.ts -> policy_node closed loop against
sim_node -> success rates, latency, jitter, plots and an mp4 under runs/<name>/.

`--offline` runs the same learning pipeline without ROS on a synthetic 2-D task (seconds).
"""
from pathlib import Path
import sys

from dil_ros.cli.main import CliError
from dil_ros.demo.run_name import run_folder, RunNameError


def add_arguments(parser) -> None:
    parser.add_argument('--name', default='demo', help='run name: output goes to RUNS/<name>/')
    parser.add_argument('--runs', type=Path, default=Path('runs'), help='parent directory')
    parser.add_argument('--episodes', type=int, default=100, help='expert demonstrations')
    parser.add_argument('--eval-episodes', type=int, default=50,
                        help='closed-loop episodes of the diffusion policy')
    parser.add_argument('--baseline-episodes', type=int, default=20,
                        help='closed-loop episodes of the MSE baseline')
    parser.add_argument('--video-episodes', type=int, default=3,
                        help='rollouts rendered to RUNS/<name>/rollouts.mp4 (0: none)')
    parser.add_argument('--steps', type=int, default=None,
                        help="training steps per policy (default: the config's)")
    parser.add_argument('--baseline-steps', type=int, default=None,
                        help="training steps of the MSE baseline (default: as --steps)")
    parser.add_argument('--time-limit', default=None,
                        help="wall-clock budget of each policy's training (90, 90s, 20m, 1h30m): "
                             'the run is sized to the steps that fit (see dil-ros train)')
    parser.add_argument('--config', type=Path, default=None,
                        help='training config (default: config/train_demo_arm.yaml; '
                             'offline: config/train_tiny.yaml)')
    parser.add_argument('--seed', type=int, default=0, help='seed of demonstrations and rollouts')
    parser.add_argument('--record-rtf', type=float, default=4.0,
                        help='sim speed while recording, x real time')
    parser.add_argument('--eval-rtf', type=float, default=1.0,
                        help='sim speed in closed loop, x real time (1: the real-time loop)')
    parser.add_argument('--output-mode', default='joint_trajectory',
                        choices=('joint_trajectory', 'forward_command'),
                        help='how policy_node commands the arm')
    parser.add_argument('--vision', action='store_true',
                        help='the goal seen only by the sim\'s top camera (no goal topic): '
                             'contract mujoco_arm_vision.yaml, config train_vision_small.yaml, '
                             'the same camera encoder in the MSE baseline')
    parser.add_argument('--offline', action='store_true',
                        help='no ROS: the synthetic 2-D task of dil_ros/sim/bimodal.py')
    parser.add_argument('--student', type=int, default=0, choices=(0, 1, 2, 3),
                        help='also distil the diffusion policy into a student with this many '
                             'steps (dil-ros distill), export RUNS/<name>/student.ts and run it '
                             'closed loop like the diffusion policy (0: no student)')
    parser.add_argument('--student-train-steps', type=int, default=12000,
                        help='optimisation steps of the --student distillation (12000: the 1-step '
                             'student within 3 points of its teacher on the demo task)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads for --offline (1 is fastest for tiny networks)')


def run(args) -> int:
    try:
        run_folder(args.runs, args.name)
    except RunNameError as exc:  # a usage error: exit 2, before anything is created or deleted
        print(f'dil-ros demo: error: {exc}', file=sys.stderr)
        return 2
    for flag in ('episodes', 'eval_episodes', 'baseline_episodes', 'threads'):
        if getattr(args, flag) < 1:
            raise CliError(f'--{flag.replace("_", "-")} must be >= 1, got {getattr(args, flag)}')
    for flag in ('steps', 'baseline_steps'):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise CliError(f'--{flag.replace("_", "-")} must be >= 1, got {getattr(args, flag)}')
    time_limit = None
    if args.time_limit is not None:
        from dil_ros.training.stopping import parse_duration
        time_limit = parse_duration(args.time_limit)
    if args.record_rtf <= 0 or args.eval_rtf <= 0:
        raise CliError('--record-rtf and --eval-rtf must be > 0')
    if args.student and (args.offline or args.student_train_steps < 1):
        raise CliError('--student runs over ROS 2 (drop --offline) and needs '
                       '--student-train-steps >= 1')
    if args.offline and args.vision:
        raise CliError('--vision runs over ROS 2 with the MuJoCo sim; drop --offline')
    if args.offline:
        from dil_ros.demo.offline import run_offline
        return run_offline(args)
    from dil_ros.demo.pipeline import DemoOptions, run_demo
    summary = run_demo(DemoOptions(
        name=args.name, runs=args.runs, episodes=args.episodes, eval_episodes=args.eval_episodes,
        baseline_episodes=args.baseline_episodes, video_episodes=args.video_episodes,
        steps=args.steps, config=args.config, seed=args.seed, record_rtf=args.record_rtf,
        eval_rtf=args.eval_rtf, output_mode=args.output_mode, vision=args.vision,
        baseline_steps=args.baseline_steps, time_limit_s=time_limit, student=args.student,
        student_train_steps=args.student_train_steps))
    return 0 if summary['evaluation']['diffusion']['episodes'] else 1
