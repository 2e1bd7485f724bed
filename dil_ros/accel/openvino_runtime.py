"""Form openvino: policy.onnx through OpenVINO's CPU plugin (optional dependency).

OpenVINO reads the same policy.onnx (no second export, same binding); it is compiled for latency
on ``threads`` CPU threads (default: torch's thread count). Precision 'auto' is bf16 where the CPU
has bf16 units (OpenVINO's BF16 capability: AMX or AVX512-BF16) — the fastest form measured on
this CPU (README, Benchmarks a), within the bf16 form's bound of policy.ts — and fp32 elsewhere.
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
        self.request = compiled.create_infer_request()
        self.output = compiled.output(0)

    def run(self, _names, feed: Dict[str, np.ndarray]):
        result = self.request.infer(feed)
        return [np.asarray(result[self.output])]


def load_openvino(path: Path, meta: Mapping[str, Any], threads: Optional[int] = None,
                  precision: str = 'auto') -> OnnxPolicy:
    """OnnxPolicy over an OpenVINO CPU compilation of ``path`` in ``precision`` ('auto', 'f32',
    'bf16'); its ``precision_note`` says which ran. AccelError if OpenVINO is not installed."""
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
    # f32 by default: on CPUs with bf16 units OpenVINO otherwise picks bf16 (0.03 off policy.ts)
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision,
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
