"""policy.onnx through OpenVINO's CPU plugin: a benchmark candidate of the onnx form (optional).

OpenVINO reads the same policy.onnx (no second export); it is compiled for latency on
``threads`` CPU threads (default: torch's thread count). ``OpenVinoPolicy`` has OnnxPolicy's
call and checks (it reuses them, only the session differs). Needs ``pip install openvino``; not a
dependency of dil_ros. Its figures are in README, Benchmarks a.
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
                  precision: str = 'f32') -> OnnxPolicy:
    """OnnxPolicy over an OpenVINO CPU compilation of ``path`` in ``precision`` ('f32', or
    'bf16' on CPUs with bf16 units: parity bound of the bf16 form); AccelError if not
    installed."""
    try:
        import openvino
    except ImportError:
        raise AccelError('openvino is not installed (pip install openvino); it is an optional '
                         'benchmark candidate') from None
    core = openvino.Core()
    # f32 by default: on CPUs with bf16 units OpenVINO otherwise picks bf16 (0.03 off policy.ts)
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision,
              'INFERENCE_NUM_THREADS': int(threads or torch.get_num_threads())}
    try:
        compiled = core.compile_model(str(path), 'CPU', config)
    except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError and friends
        raise AccelError(f'{path}: OpenVINO could not compile it: '
                         f'{str(exc).strip().splitlines()[0]}') from None
    return OnnxPolicy(_OpenVinoSession(compiled), meta, torch.device('cpu'), str(path))
