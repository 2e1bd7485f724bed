#!/usr/bin/env python3
"""OpenVINO and onnxruntime settings side by side on one policy.onnx (docs/benchmarks.md, a/b).

Round-robin, 1 thread, the same random inputs for every candidate; errors against onnxruntime
(fp32, all optimisations). Candidates: OpenVINO bf16 with its thread pinned (its default) or not,
inputs shared, denormals flushed, an IR saved with ``ov.save_model`` (fp32 weights), f32; and
onnxruntime with pool spinning on/off and a session on its saved optimised graph.

    .venv/bin/python bench/bench_runtime_settings.py runs/bench/cache/small_10/policy_b1.onnx \
        [--iters 60]

(section a of `dil-ros bench` leaves that policy_b1.onnx in its cache.)
"""
import argparse
import os
from pathlib import Path
import sys
import tempfile
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('onnx', type=Path)
    parser.add_argument('--iters', type=int, default=60)
    args = parser.parse_args(argv)
    import onnx
    import onnxruntime as ort
    import openvino as ov
    import torch
    from dil_ros.accel.onnx_runtime import session_options
    from dil_ros.accel.timing import time_round_robin
    torch.set_num_threads(1)

    model = onnx.load(str(args.onnx))
    rng = np.random.default_rng(0)
    feed = {}
    for i in model.graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feed[i.name] = (rng.standard_normal(shape) if i.name == 'noise'
                        else rng.uniform(-1, 1, shape)).astype(np.float32)
    tmp = Path(tempfile.mkdtemp())
    core = ov.Core()
    ov.save_model(core.read_model(str(args.onnx)), str(tmp / 'policy.xml'), compress_to_fp16=False)
    base = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': 1, 'NUM_STREAMS': 1}
    bf16 = {**base, 'INFERENCE_PRECISION_HINT': 'bf16', 'ENABLE_CPU_PINNING': False}
    candidates = {
        'openvino bf16, pinned': (args.onnx, {**bf16, 'ENABLE_CPU_PINNING': True}, False),
        'openvino bf16 (the form)': (args.onnx, bf16, True),
        'openvino bf16, inputs copied': (args.onnx, bf16, False),
        'openvino bf16, denormals flushed': (args.onnx, {**bf16, 'CPU_DENORMALS_OPTIMIZATION': True},
                                         True),
        'openvino bf16, saved IR': (tmp / 'policy.xml', bf16, True),
        'openvino f32': (args.onnx, {**bf16, 'INFERENCE_PRECISION_HINT': 'f32'}, True),
    }
    fns = {}
    for name, (path, config, share) in candidates.items():
        request = core.compile_model(str(path), 'CPU', config).create_infer_request()
        fns[name] = (lambda r=request, s=share: np.asarray(r.infer(feed, share_inputs=s)[0]))
    for spin in (1, 0):
        options = session_options(1, 'all', spinning=bool(spin))
        if spin:
            options.optimized_model_filepath = str(tmp / 'policy.opt.onnx')
        session = ort.InferenceSession(str(args.onnx), options, providers=['CPUExecutionProvider'])
        fns[f'onnxruntime, spinning {spin}'] = (lambda s=session: s.run(None, feed)[0])
    start = time.perf_counter()
    session = ort.InferenceSession(str(tmp / 'policy.opt.onnx'), session_options(1, 'disable'),
                                   providers=['CPUExecutionProvider'])
    print(f'session on the saved optimised graph: {time.perf_counter() - start:.2f} s')
    fns['onnxruntime, saved optimised graph'] = (lambda s=session: s.run(None, feed)[0])
    reference = fns['onnxruntime, spinning 1']()
    errors = {name: float(np.abs(fn() - reference).max()) for name, fn in fns.items()}
    load = os.getloadavg()
    stats = time_round_robin(fns, torch.device('cpu'), args.iters, warmup=3)
    print(f'load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after; {args.iters} '
          f'calls each, round-robin, 1 thread\n')
    print('| candidate | median ms | p99 ms | min ms | max abs err vs onnxruntime |')
    print('|---|---|---|---|---|')
    for name, t in stats.items():
        print(f'| {name} | {t["median_ms"]:.2f} | {t["p99_ms"]:.2f} | {t["min_ms"]:.2f} | '
              f'{errors[name]:.2e} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
