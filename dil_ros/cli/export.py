"""`dil-ros export RUN_DIR -o policy.ts`: a trained run as one TorchScript file plus metadata."""
from pathlib import Path

from dil_ros.cli.main import CliError


def add_arguments(parser) -> None:
    parser.add_argument('run_dir', type=Path, help='run directory written by `dil-ros train`')
    parser.add_argument('-o', '--output', type=Path, default=None,
                        help='output file (default: RUN_DIR/policy.ts)')
    parser.add_argument('--ema', dest='ema', action='store_true', default=True,
                        help='export the EMA weights (default)')
    parser.add_argument('--no-ema', dest='ema', action='store_false',
                        help='export the raw (non-averaged) weights')
    parser.add_argument('--num-inference-steps', type=int, default=None,
                        help='DDIM steps at inference (default: the training config\'s)')
    parser.add_argument('--forms', default='',
                        help='also write faster forms next to the output, each checked against '
                             'it on the same noise: comma list of fp16, bf16, aot, onnx, openvino '
                             '(policy_node parameter `form` picks one)')
    parser.add_argument('--device', default='auto',
                        help='device the --forms are built for: auto | cpu | cuda[:N]')


def run(args) -> int:
    from dil_ros.policy.digest import file_sha256, sidecar_path
    from dil_ros.policy.export import export_policy
    from dil_ros.training.restore import load_run

    if args.num_inference_steps is not None and args.num_inference_steps < 1:
        raise CliError(f'--num-inference-steps must be >= 1, got {args.num_inference_steps}')
    if not args.run_dir.is_dir():
        raise CliError(f'{args.run_dir}: run directory not found')
    policy, meta = load_run(args.run_dir, ema=args.ema,
                            num_inference_steps=args.num_inference_steps)
    out = args.output or args.run_dir / 'policy.ts'
    forms = [f for f in args.forms.split(',') if f]
    unknown = sorted(set(forms) - {'fp16', 'bf16', 'aot', 'onnx', 'openvino'})
    if unknown:
        raise CliError(f'--forms: unknown {", ".join(unknown)} (choose from fp16, bf16, aot, '
                       f'onnx, openvino)')
    export_policy(policy, out, meta)
    print(f'exported {meta["kind"]} policy (step {meta["train_step"]}, '
          f'{"EMA" if meta["ema"] else "raw"} weights) to {out}')
    print(f'sha256 {file_sha256(out)} (in {sidecar_path(out).name}; policy_node parameter '
          f'policy_sha256 pins it)')
    if forms:
        from dil_ros.accel.forms import export_forms
        for form, info in export_forms(policy, out, forms, args.device).items():
            print(f'  {form}: {info["path"]} (max abs error vs {out.name}: '
                  f'{info["max_abs_err"]:.2e}, bound {info["bound"]:.2e})')
    return 0
