"""Run policy.onnx with onnxruntime: ``load_onnx(path, device, meta) -> OnnxPolicy``.

Execution providers: on a CPU the CPU provider; on CUDA, TensorRT (fp16 enabled, engines cached
next to the file) then CUDA then CPU, each only where this onnxruntime build has it. Session
options are the fastest measured on a 2-core CPU (README, Benchmarks a): all graph optimisations,
sequential execution, ``intra_op_threads`` (default: torch's thread count, which the policy node
and the bench set), one inter-op thread.

Camera frames at the contract's size go straight in; frames of another size are first resized
with ``vision_preprocess.resize_frames`` (the same bilinear interpolate, rounded to uint8 as the
training cache stores frames), so they agree with policy.ts within that rounding.
"""
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from dil_ros.accel.errors import AccelError
from dil_ros.accel.onnx_export import NOISE_INPUT

TENSORRT = 'TensorrtExecutionProvider'
CUDA = 'CUDAExecutionProvider'
CPU = 'CPUExecutionProvider'


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise AccelError('form onnx: onnxruntime is not installed (pip install -r '
                         'requirements.txt -c constraints.txt; on a Jetson see README, '
                         '"Jetson / TensorRT")') from None
    return onnxruntime


def providers(device: torch.device, path: Path, available: Sequence[str]
              ) -> Tuple[List[Any], str]:
    """(providers for an InferenceSession, one line saying which) for ``device``."""
    if device.type != 'cuda':
        return [CPU], 'onnxruntime CPU provider'
    index = device.index or 0
    chosen: List[Any] = []
    if TENSORRT in available:
        chosen.append((TENSORRT, {'device_id': index, 'trt_fp16_enable': True,
                                  'trt_engine_cache_enable': True,
                                  'trt_engine_cache_path': str(path.parent / 'trt_cache')}))
    if CUDA in available:
        chosen.append((CUDA, {'device_id': index, 'use_tf32': 0}))  # fp32 parity
    if not chosen:
        raise AccelError(f'{path}: device {device} asked, but this onnxruntime has neither the '
                         f'TensorRT nor the CUDA provider (has {", ".join(available)}); install '
                         f'onnxruntime-gpu, or use device:=cpu')
    chosen.append(CPU)
    names = [p[0] if isinstance(p, tuple) else p for p in chosen]
    fp16 = ' (TensorRT in fp16)' if TENSORRT in names else ''
    return chosen, 'onnxruntime providers ' + ' > '.join(names) + fp16


def session_options(intra_op_threads: Optional[int] = None, level: str = 'all'):
    """SessionOptions: graph optimisation ``level`` ('basic' | 'extended' | 'all'),
    sequential execution, ``intra_op_threads`` (None: torch.get_num_threads())."""
    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = {
        'disable': ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        'basic': ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        'extended': ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        'all': ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(intra_op_threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


class OnnxPolicy:
    """``__call__(obs {key: [B, To, D]}, noise [B, Tp, Da] or None) -> actions`` (torch, on
    ``device``) over an onnxruntime session; checks keys and shapes first."""

    def __init__(self, session, meta: Mapping[str, Any], device: torch.device,
                 source: str = 'policy.onnx'):
        self.session = session
        self.meta = dict(meta)
        self.device = device
        self.source = source
        spec = meta['onnx']
        self.inputs = {i['name']: tuple(i['shape']) for i in spec['inputs']}
        self.noise_shape = tuple(spec['noise_shape'])
        self.image_keys = set(meta.get('image_shapes', {}))

    def _frames(self, key: str, value: torch.Tensor) -> np.ndarray:
        want = self.inputs[key]
        if value.dtype != torch.uint8 or value.dim() != 5 or tuple(value.shape[:2]) != want[:2] \
                or value.shape[-1] != 3:
            raise AccelError(f'{self.source}: camera {key!r}: expected uint8 frames '
                             f'{list(want[:2])} + [H, W, 3], got {value.dtype} '
                             f'{list(value.shape)}')
        frames = value.cpu().numpy()
        if tuple(frames.shape) != want:
            from dil_ros.policy.vision_preprocess import resize_frames
            flat = frames.reshape(-1, *frames.shape[2:])
            frames = resize_frames(flat, want[2], want[3]).reshape(want)
        return np.ascontiguousarray(frames)

    def __call__(self, obs: Dict[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        if set(obs) != set(self.inputs):
            raise AccelError(f'{self.source}: exported for observation keys '
                             f'{sorted(self.inputs)}, got {sorted(obs)}')
        feed: Dict[str, np.ndarray] = {}
        for key, value in obs.items():
            if key in self.image_keys:
                feed[key] = self._frames(key, value)
                continue
            if tuple(value.shape) != self.inputs[key]:
                raise AccelError(f'{self.source}: observation {key!r}: exported for shape '
                                 f'{list(self.inputs[key])}, got {list(value.shape)}')
            feed[key] = value.detach().float().cpu().numpy()
        if noise is None:
            noise = torch.randn(self.noise_shape)
        elif tuple(noise.shape) != self.noise_shape:
            raise AccelError(f'{self.source}: noise: exported for shape '
                             f'{list(self.noise_shape)}, got {list(noise.shape)}')
        feed[NOISE_INPUT] = noise.detach().float().cpu().numpy()
        actions = self.session.run(None, feed)[0]
        return torch.from_numpy(actions).to(self.device)


def load_onnx(path: Path, device: torch.device, meta: Mapping[str, Any],
              intra_op_threads: Optional[int] = None, level: str = 'all'
              ) -> Tuple[OnnxPolicy, str]:
    """(OnnxPolicy, one line naming the providers); ``meta`` was read (and its binding
    checked) by the caller. Errors are AccelError naming the file."""
    ort = _ort()
    path = Path(path)
    if 'onnx' not in meta:
        raise AccelError(f'{path}: metadata has no onnx entry; export it again with '
                         f'`dil-ros export RUN --forms onnx`')
    chosen, message = providers(device, path, ort.get_available_providers())
    try:
        session = ort.InferenceSession(str(path), session_options(intra_op_threads, level),
                                       providers=chosen)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise AccelError(f'{path}: onnxruntime could not load it: '
                         f'{str(exc).strip().splitlines()[0]}') from None
    return OnnxPolicy(session, meta, device, str(path)), message
