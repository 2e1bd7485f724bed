#!/usr/bin/env python3
"""The benchmark suite behind `dil-ros bench` / `make bench`.

Sections (each runs in its own subprocess; a missing or failing one is reported and skipped):
  a  chunk latency, DDIM-10, batch 1: eager vs policy.ts vs AOTInductor (vs CUDA graph and fp16
     on a GPU), Chi's low-dim U-Net (256, 512, 1024) and a small one (64, 128, 256)
  b  the same nets vs LeRobot's DiffusionPolicy.select_action (needs `lerobot`, see
     requirements-bench.txt; skipped with a message otherwise)
  c  training samples/s (bench/bench_train.py)
  d  ROS policy-node loop figures (bench/bench_policy_node.py)
  e  recorder throughput (bench/bench_recorder.py)
  f  chunk latency with one and two cameras: eager vs policy.ts vs bf16
     (bench/bench_vision_policy.py)
  g  distilled student vs its DDIM teacher: chunk latency side by side, closed-loop success and
     modes (bench/bench_student.py; needs runs/demo/policy.ts and runs/demo/student.ts from
     `dil-ros demo --student 1`); not in the default sections: `--sections g`
Results: runs/bench/bench-<UTC time>.{md,json} and latest.{md,json}, with the machine.

    .venv/bin/python bench/suite.py [--quick] [--sections a,b] [--device cuda] [--tiny]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SECTIONS = {
    'a': 'chunk latency (DDIM-10, batch 1)',
    'b': 'vs LeRobot DiffusionPolicy.select_action',
    'c': 'training samples/s',
    'd': 'ROS policy-node loop',
    'e': 'recorder throughput',
    'f': 'chunk latency with cameras (DDIM-10, batch 1)',
    'g': 'distilled student vs DDIM teacher',
}
# section -> (script, quick args, full args); run as `python script ...` (plus `--json FILE` where
# the script offers it, else its printed tail is the result).
EXTERNAL = {
    'c': ('bench_train.py', ['--steps', '3', '--batch-size', '32'], ['--steps', '10']),
    'd': ('bench_policy_node.py', ['--seconds', '2'], []),
    'e': ('bench_recorder.py', ['--duration', '3'], []),
    'f': ('bench_vision_policy.py', ['--runs', '3', '--widths', '16'], []),
    'g': ('bench_student.py', ['--episodes', '3', '--runs', '20'], []),
}
NETS = {'small': (64, 128, 256), 'chi': (256, 512, 1024), 'tiny': (16, 32)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--quick', action='store_true', help='few iterations, short sections')
    parser.add_argument('--sections', default='a,b,c,d,e,f',
                        help='comma list of sections: ' + ', '.join(
                            f'{k} = {v}' for k, v in SECTIONS.items()))
    parser.add_argument('--device', default='auto', help='auto | cpu | cuda | cuda:N')
    parser.add_argument('--tiny', action='store_true',
                        help='section a/b on a tiny U-Net (16, 32) only: a smoke test in seconds')
    parser.add_argument('--forms', default='eager,torchscript,aot,onnx,openvino,cuda_graph,fp16',
                        help='section a forms (cuda_graph and fp16 run on a GPU only; onnx '
                             'candidates: onnx_extended, onnx_basic, onnx_noopt, onnx_nospin, '
                             'onnx_wrapper, openvino_pinned, openvino_f32, openvino_bf16, '
                             'openvino_f16; openvino is the form: bf16 where the CPU has bf16 '
                             'units, thread not pinned)')
    parser.add_argument('--nets', default='small,chi', help=f'section a/b nets: {sorted(NETS)}')
    parser.add_argument('--steps', type=int, default=10, help='DDIM inference steps')
    parser.add_argument('--iters', type=int, default=0, help='timed calls (0: 20 quick, 200)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads in each section (0: torch default); 1 avoids '
                             'oversubscription on shared machines and is the batch-1 norm')
    parser.add_argument('--out', type=Path, default=Path('runs/bench'), help='results folder')
    parser.add_argument('--timeout', type=float, default=1800.0, help='seconds per section')
    parser.add_argument('--extra-path', default='',
                        help='prepended to PYTHONPATH of the sections (e.g. a lerobot install)')
    parser.add_argument('--worker', default='', help=argparse.SUPPRESS)
    parser.add_argument('--result', type=Path, help=argparse.SUPPRESS)


def machine() -> Dict[str, Any]:
    """CPU model, cores, torch version and GPU name (if any) of this machine."""
    info: Dict[str, Any] = {'platform': platform.platform(), 'python': platform.python_version(),
                            'cpu': platform.processor() or platform.machine(),
                            'logical_cores': os.cpu_count()}
    try:
        info['usable_cores'] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                info['cpu'] = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch
        info['torch'] = torch.__version__
        info['torch_cuda'] = torch.version.cuda
        if torch.cuda.is_available():
            info['gpu'] = torch.cuda.get_device_name(0)
            info['gpu_count'] = torch.cuda.device_count()
    except Exception as exc:  # noqa: BLE001 - the suite reports without torch too
        info['torch'] = f'unavailable ({exc})'
    return info


# --------------------------------------------------------------------------- workers (subprocess)

def _setup_torch(args):
    import torch

    from dil_ros.accel.device import resolve_device
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device, message = resolve_device(args.device)
    return torch, device, message


def _nets(args) -> List[str]:
    return ['tiny'] if args.tiny else [n.strip() for n in args.nets.split(',') if n.strip()]


def _iters(args):
    if args.iters:
        return args.iters, max(2, args.iters // 10)
    return (20, 3) if args.quick or args.tiny else (200, 10)


def section_a(args) -> Dict[str, Any]:
    """Chunk latency of each form on each net; ratios are eager median / form median."""
    torch, device, message = _setup_torch(args)
    from dil_ros.accel.forms import build_form
    from dil_ros.accel.parity import TOLERANCE, action_range, max_abs_error
    from dil_ros.accel.synthetic import synthetic_inputs, synthetic_policy
    from dil_ros.accel.timing import time_round_robin

    iters, warmup = _iters(args)
    forms = [f.strip() for f in args.forms.split(',') if f.strip()]
    gpu_only = {'cuda_graph', 'fp16'}
    notes = [message, f'torch threads: {torch.get_num_threads()}, iters {iters}, warmup {warmup}']
    skipped = [f for f in forms if f in gpu_only and device.type != 'cuda']
    if skipped:
        notes.append(f'{", ".join(skipped)}: GPU only, not run on {device}')
    cache = args.out / 'cache'
    rows = []
    for net in _nets(args):
        policy = synthetic_policy(NETS[net], args.steps).to(device)
        obs, noise = synthetic_inputs(policy, 1, device=device)
        start = time.perf_counter()
        reference = build_form(policy, 'torchscript', device, obs, noise)  # = policy.ts
        script_s = round(time.perf_counter() - start, 2)
        bound_scale = action_range(policy)
        built, net_rows = {}, {}
        for form in forms:
            if form in skipped:
                continue
            row = net_rows[form] = {'net': net, 'down_dims': list(NETS[net]), 'form': form,
                                    'device': str(device)}
            try:
                start = time.perf_counter()
                if form in ('eager', 'torchscript'):
                    fn = policy if form == 'eager' else reference
                else:
                    fn = build_form(policy, form, device, obs, noise,
                                    workdir=cache / f'{net}_{args.steps}')
                row['build_s'] = script_s if form == 'torchscript' else \
                    round(time.perf_counter() - start, 2)
                err = max_abs_error(reference, fn, obs, noise)
                row['max_abs_err'] = err
                row['parity_ok'] = err <= _tolerance(form, TOLERANCE) * bound_scale
                built[form] = fn
            except Exception as exc:  # noqa: BLE001 - one failing form must not end the table
                row['error'] = f'{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}'
        timed = time_round_robin({f: (lambda fn=fn: fn(obs, noise)) for f, fn in built.items()},
                                 device, iters, warmup) if built else {}
        eager_ms = timed.get('eager', {}).get('median_ms')
        for form, row in net_rows.items():
            row.update(timed.get(form, {}))
            if eager_ms and 'median_ms' in row:
                row['speedup_vs_eager'] = round(eager_ms / row['median_ms'], 2)
            if 'median_ms' in row:
                print(f'a: {net} {form}: median {row["median_ms"]:.3f} ms, p99 '
                      f'{row["p99_ms"]:.3f} ms', flush=True)
            rows.append(row)
    return {'rows': rows, 'notes': notes}


def _tolerance(form: str, tolerance: Dict[str, float]) -> float:
    """The parity bound of a form or benchmark candidate (per unit of action range): onnx_* are
    fp32 onnxruntime ('onnx'); openvino_* take the openvino (bf16) bound, but fp32 'onnx'."""
    if form in tolerance:
        return tolerance[form]
    if form == 'openvino_f32':
        return tolerance['onnx']
    for prefix in ('openvino', 'onnx'):
        if form.startswith(prefix + '_'):
            return tolerance['fp16' if form == 'openvino_f16' else prefix]
    return tolerance['torchscript']


def section_b(args) -> Dict[str, Any]:
    """LeRobot select_action vs our eager / policy.ts (and policy.pt2 if section a built it)."""
    sys.path.insert(0, str(BENCH_DIR))
    import lerobot_compare
    torch, device, message = _setup_torch(args)
    iters, warmup = _iters(args)
    return lerobot_compare.compare(_nets(args), NETS, args.steps, device, iters, warmup,
                                   cache=args.out / 'cache', notes=[message])


def section_c(args) -> Dict[str, Any]:
    """Training samples/s through bench/bench_train.py's functions: today's step (the
    for-loop AdamW fp32 step of before issue 14) vs the defaults (fused AdamW) vs the defaults with
    bf16 autocast vs a plain eager loop, at batch 64 and 256 (CPU; 256 on a GPU)."""
    import importlib.util
    path = BENCH_DIR / 'bench_train.py'
    if not path.is_file():
        return {'status': 'skipped', 'reason': 'bench/bench_train.py not found', 'rows': []}
    spec = importlib.util.spec_from_file_location('bench_train', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not all(hasattr(module, f) for f in ('measure', 'SUITE_VARIANTS')):
        return section_external('c', args)  # its functions changed: run it as a script
    torch, device, message = _setup_torch(args)
    if args.quick or args.tiny:
        steps, batches, rounds = 3, (32,), 1
    else:
        steps, batches, rounds = 8, ((256,) if device.type == 'cuda' else (64, 256)), 2
    variants = list(module.SUITE_VARIANTS)
    rows = []
    for batch in batches:
        for row in module.measure(_nets(args), variants, [args.threads], batch, steps, rounds,
                                  str(device), say=lambda *a, **k: None):
            rows.append(row)
            print(f'c: {row["net"]} batch {batch} {row["variant"]}: {row["samples_s"]:.1f} '
                  f'samples/s ({row["vs_today"]}x today)', flush=True)
    return {'rows': rows, 'notes': [
        message, f'torch threads {args.threads or torch.get_num_threads()}; Push-T low-dim '
        'sizes; variants as in bench/bench_train.py; vs_today compares fastest steps on a CPU, '
        'mean rates on CUDA']}


def section_external(section: str, args) -> Dict[str, Any]:
    """Run another engineer's bench script with --json and return its results as rows."""
    script, quick_args, full_args = EXTERNAL[section]
    path = BENCH_DIR / script
    if not path.is_file():
        return {'status': 'skipped', 'reason': f'bench/{script} not found', 'rows': []}
    cmd = [sys.executable, str(path)] + (quick_args if args.quick else full_args)
    if section == 'f':   # cameras: the suite's device, threads and forms (bf16 always timed)
        forms = [f.strip() for f in args.forms.split(',')]
        forms = ['eager', 'torchscript', 'bf16'] + [f for f in ('fp16', 'cuda_graph', 'aot')
                                                    if f in forms]
        cmd += ['--device', args.device, '--threads', str(args.threads),
                '--forms', ','.join(forms)]
    with tempfile.TemporaryDirectory() as tmp:
        out_json = Path(tmp) / 'out.json'
        takes_json = '--json' in path.read_text()
        if takes_json:
            cmd += ['--json', str(out_json)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              cwd=REPO)
        tail = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[-15:]
        if proc.returncode != 0:
            lines = (proc.stdout + proc.stderr).strip().splitlines()
            raise RuntimeError(f'{" ".join(cmd[1:])} exited {proc.returncode}: '
                               + ' | '.join(lines[-5:]))
        data = json.loads(out_json.read_text()) if takes_json and out_json.is_file() else None
    result = {'rows': to_rows(data) if data is not None else [],
              'notes': [f'`{" ".join(["python", "bench/" + script] + cmd[2:])}`']}
    if data is None:
        result['output'] = tail
    return result


def to_rows(data: Any) -> List[Dict[str, Any]]:
    """JSON results of any shape -> table rows: a list as is; a dict's dict values one row each
    (named by their key; dicts nested deeper one row per inner key); its scalars one row."""
    if isinstance(data, list):
        return [d if isinstance(d, dict) else {'value': d} for d in data]
    if not isinstance(data, dict):
        return [{'value': data}]
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    rows = [scalars] if scalars else []
    for name, value in data.items():
        if not isinstance(value, dict):
            continue
        if value and all(isinstance(v, dict) for v in value.values()):
            rows += [{'name': name, 'variant': k, **v} for k, v in value.items()]
        else:
            rows.append({'name': name, **value})
    return rows


def run_worker(args) -> int:
    if args.worker == 'a':
        result = section_a(args)
    elif args.worker == 'b':
        try:
            import lerobot  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            result = {'status': 'skipped', 'rows': [],
                      'reason': f'lerobot not importable ({type(exc).__name__}: {exc}); '
                                f'install it with requirements-bench.txt'}
        else:
            result = section_b(args)
    elif args.worker == 'c':
        result = section_c(args)
    else:
        result = section_external(args.worker, args)
    args.result.write_text(json.dumps(result, indent=1, default=str))
    return 0


# --------------------------------------------------------------------------- driver

def run_section(section: str, args) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / 'result.json'
        cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', section,
               '--result', str(result_path)] + _passthrough(args)
        env = dict(os.environ)
        paths = [p for p in (args.extra_path, str(REPO), env.get('PYTHONPATH', '')) if p]
        env['PYTHONPATH'] = os.pathsep.join(paths)
        start, load_before = time.perf_counter(), _load()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                  env=env, cwd=os.getcwd())
        except subprocess.TimeoutExpired:
            return {'status': 'failed', 'reason': f'timed out after {args.timeout:.0f} s',
                    'rows': []}
        seconds = round(time.perf_counter() - start, 1)
        if proc.returncode != 0 or not result_path.is_file():
            lines = (proc.stdout + proc.stderr).strip().splitlines()
            return {'status': 'failed', 'seconds': seconds, 'rows': [],
                    'reason': f'exit {proc.returncode}: ' + ' | '.join(lines[-4:])}
        result = json.loads(result_path.read_text())
    result.setdefault('status', 'ok')
    result['seconds'] = seconds
    result['load_average'] = f'{load_before} / {_load()}'
    return result


def _load() -> str:
    """The load average, which every figure of a shared machine must be read with."""
    try:
        return ' '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError:
        return '?'


def _passthrough(args) -> List[str]:
    out = ['--sections', args.sections, '--device', args.device, '--forms', args.forms,
           '--nets', args.nets, '--steps', str(args.steps), '--iters', str(args.iters),
           '--threads', str(args.threads), '--out', str(args.out), '--timeout', str(args.timeout)]
    return out + (['--quick'] if args.quick else []) + (['--tiny'] if args.tiny else [])


def summary(section: str, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The ratios issue 14 asks for, one table per section: a, per net, the fastest form (parity
    within its bound) vs eager; b, per net, the fastest form vs eager and vs LeRobot (timed in
    b's own round); d, control-loop jitter per inference option. [] for other sections."""
    out: List[Dict[str, Any]] = []
    if section in ('a', 'b'):
        key = 'form' if section == 'a' else 'impl'
        for net in dict.fromkeys(r['net'] for r in rows):
            timed = {r[key]: r for r in rows if r['net'] == net and 'median_ms' in r
                     and r.get('parity_ok', True)}
            eager = timed.get('eager', {}).get('median_ms')
            base = timed.get('lerobot.select_action', {}).get('median_ms')
            forms = {k: r for k, r in timed.items()
                     if k not in ('eager', 'lerobot.select_action')}
            if not forms:
                continue
            best = min(forms, key=lambda k: forms[k]['median_ms'])
            ms = forms[best]['median_ms']
            row = {'net': net, 'fastest form': best, 'median ms': round(ms, 2),
                   'p99 ms': round(forms[best]['p99_ms'], 2),
                   'vs eager': f'{eager / ms:.2f}x' if eager else ''}
            if section == 'b':
                row['vs LeRobot'] = f'{base / ms:.2f}x' if base else ''
                row['eager vs LeRobot'] = f'{base / eager:.2f}x' if base and eager else ''
            else:
                row['max abs err'] = forms[best].get('max_abs_err', '')
            out.append(row)
    elif section == 'd':
        for r in rows:
            if 'loop_jitter_p99_ms' not in r or 'option' not in r:
                continue
            out.append({'option': r['option'], 'jitter p50 ms': r['loop_jitter_p50_ms'],
                        'jitter p99 ms': r['loop_jitter_p99_ms'],
                        'jitter max ms': r['loop_jitter_max_ms'],
                        'inference p50 ms': r['inference_p50_ms'],
                        'obs->command p99 ms': r['obs_to_command_p99_ms'],
                        'largest command gap ms': r['max_command_gap_ms'],
                        'periods': r['loop_periods'],
                        'full gcs': r.get('gc_full_collections', '')})
    return out


def markdown(report: Dict[str, Any]) -> str:
    lines = [f'# dil_ros benchmark, {report["time"]}', '']
    lines += [f'- {k}: {v}' for k, v in report['machine'].items()]
    lines += [f'- command: `{report["command"]}`', '']
    for key, result in report['sections'].items():
        lines += [f'## {key}. {SECTIONS[key]} — {result["status"]}'
                  + (f' ({result["seconds"]} s)' if 'seconds' in result else ''), '']
        if result.get('reason'):
            lines += [f'{result["reason"]}', '']
        if result.get('load_average'):
            lines += [f'load average (1/5/15 min) before / after: {result["load_average"]}', '']
        short = summary(key, result.get('rows') or [])
        if short:
            lines += ['Summary:', ''] + _tables(short) + ['All rows:', '']
        lines += _tables(result.get('rows') or [])
        lines += [f'- {n}' for n in result.get('notes', [])]
        if result.get('output'):
            lines += ['```text'] + result['output'] + ['```']
        lines.append('')
    return '\n'.join(lines)


def _tables(rows: List[Dict[str, Any]]) -> List[str]:
    """Markdown tables: rows of one section with the same columns share a table."""
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    lines: List[str] = []
    for cols, group in groups.items():
        lines.append('| ' + ' | '.join(cols) + ' |')
        lines.append('|' + '---|' * len(cols))
        lines += ['| ' + ' | '.join(_cell(row.get(c, '')) for c in cols) + ' |' for row in group]
        lines.append('')
    return lines


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.3g}' if abs(value) < 1e-2 and value else f'{value:.3f}'.rstrip('0') \
            .rstrip('.')
    return str(value).replace('|', '/')


def run(args) -> int:
    """Run the chosen sections and write the report; 0 unless no section produced anything."""
    if args.worker:
        return run_worker(args)
    chosen = [s.strip() for s in args.sections.split(',') if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise SuiteError(f'--sections: unknown {unknown or chosen}; choose from '
                         f'{",".join(SECTIONS)}')
    args.out = args.out.resolve()
    report: Dict[str, Any] = {
        'time': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': machine(), 'command': 'dil-ros bench ' + ' '.join(_passthrough(args)),
        'sections': {}}
    for section in chosen:
        print(f'== {section}. {SECTIONS[section]}', flush=True)
        result = run_section(section, args)
        report['sections'][section] = result
        print(f'   {result["status"]}' + (f': {result["reason"]}' if result.get('reason')
                                          else ''), flush=True)
        for line in _tables(summary(section, result.get('rows') or [])):
            print('   ' + line, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = report['time'].replace(':', '').replace('-', '')
    text = markdown(report)
    for name in (f'bench-{stamp}', 'latest'):
        (args.out / f'{name}.md').write_text(text)
        (args.out / f'{name}.json').write_text(json.dumps(report, indent=1, default=str))
    print(text)
    print(f'wrote {args.out / f"bench-{stamp}.md"} and .json')
    ok = any(r['status'] == 'ok' for r in report['sections'].values())
    return 0 if ok else 1


def _error_base():
    try:
        from dil_ros.errors import DilRosError
        return DilRosError
    except ImportError:
        return Exception


class SuiteError(_error_base()):
    """A usage error of the suite (shown as one line by dil-ros)."""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except SuiteError as exc:
        print(f'bench: error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
