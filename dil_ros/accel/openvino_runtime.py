"""Form openvino: policy.onnx through OpenVINO's CPU plugin (optional dependency).

OpenVINO reads the same policy.onnx (no second export, same binding); it is compiled for latency
(one stream) on ``threads`` CPU threads (default: torch's thread count), its thread not pinned to
a core: pinning measured slower here (1.1-1.3x, docs/benchmarks.md, a) where other processes — the
control loop among them — share the cores, and it would override the worker's
``inference_cpus``. Precision 'auto' is bf16 where the CPU has bf16 units (OpenVINO's BF16
capability: AMX or AVX512-BF16; this Xeon has both) — the fastest form measured, within the bf16
form's bound of policy.ts — and fp32 elsewhere; 'f16' runs emulated on such a CPU (8x slower).
``OpenVinoPolicy`` has OnnxPolicy's call and checks (it reuses them, only the session differs).
OpenVINO comes with requirements.txt; where it is missing the form says how to install it.
"""
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import numpy as np
import torch

from dil_ros.accel.errors import AccelError
from dil_ros.accel.onnx_runtime import OnnxPolicy


class _OpenVinoSession:
    """``run(None, feed) -> [actions]``, the slice of onnxruntime's session OnnxPolicy calls."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self.output = compiled.output(0)

    def run(self, _names, feed: Dict[str, np.ndarray]):
        # inputs are fresh arrays of OnnxPolicy's (shared, not copied); the output is copied
        result = self.request.infer(feed, share_inputs=True)
        return [np.asarray(result[self.output])]


def load_openvino(path: Path, meta: Mapping[str, Any], threads: Optional[int] = None,
                  precision: str = 'auto', pinning: bool = False) -> OnnxPolicy:
    """OnnxPolicy over an OpenVINO CPU compilation of ``path`` in ``precision`` ('auto', 'f32',
    'bf16', 'f16'), its thread pinned to a core only with ``pinning``; its ``precision_note`` says
    which ran. AccelError if OpenVINO is not installed."""
    try:
        import openvino
    except ImportError:
        raise AccelError('form openvino: OpenVINO is not installed '
                         '(pip install -c constraints.txt openvino)') from None
    core = openvino.Core()
    if precision == 'auto':
        try:
            capabilities = core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
        except Exception:  # noqa: BLE001 - older plugins: assume none
            capabilities = []
        precision = 'bf16' if 'BF16' in capabilities else 'f32'
    # the precision is always named: left alone, OpenVINO picks bf16 where the CPU has bf16 units
    config = {'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': 1,
              'INFERENCE_PRECISION_HINT': precision, 'ENABLE_CPU_PINNING': bool(pinning),
              'INFERENCE_NUM_THREADS': int(threads or torch.get_num_threads())}
    try:
        compiled = core.compile_model(str(path), 'CPU', config)
    except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError and friends
        raise AccelError(f'{path}: OpenVINO could not compile it: '
                         f'{str(exc).strip().splitlines()[0]}') from None
    runner = OnnxPolicy(_OpenVinoSession(compiled), meta, torch.device('cpu'), str(path))
    runner.precision_note = (f'OpenVINO {openvino.__version__} CPU in {precision}'
                             + (' (this CPU has bf16 units)' if precision == 'bf16' else ''))
    return runner
