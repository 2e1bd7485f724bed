"""Run policy.onnx with onnxruntime: ``load_onnx(path, device, meta) -> OnnxPolicy``.

Execution providers: on a CPU the CPU provider; on CUDA, TensorRT (fp16 enabled, engines cached
next to the file) then CUDA then CPU, each only where this onnxruntime build has it. Session
options are the fastest measured on a 2-core CPU (docs/benchmarks.md, a): all graph optimisations,
sequential execution, ``intra_op_threads`` (default: torch's thread count, which the policy node
and the bench set), one inter-op thread; ``session.intra_op.allow_spinning`` is an option (no
difference measured at 1 thread, where there is no pool to spin).

On the CPU provider the optimised graph is cached beside the file (``optimized_cache``): the first
session writes ``<stem>.ort-<version>-<cpu key>.opt.onnx`` and a ``.json`` naming the source's
content sha256 and the cache's own; a later session whose source, onnxruntime and CPU match loads
it with optimisations off (configure in a fraction of the time: the optimiser's constant folding
over the unrolled DDIM graph took minutes for Chi's net). The optimised graph holds CPU-specific
layouts, so the key names this onnxruntime and the CPU's flags; a cache that fails its check is
ignored and rewritten; a folder that cannot be written only means no cache.

Camera frames at the contract's size go straight in; frames of another size are first resized
with ``vision_preprocess.resize_frames`` (the same bilinear interpolate, rounded to uint8 as the
training cache stores frames), so they agree with policy.ts within that rounding.
"""
import hashlib
import json
import os
from pathlib import Path
import platform
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from dil_ros.accel.errors import AccelError
from dil_ros.accel.onnx_export import NOISE_INPUT
from dil_ros.policy.digest import file_sha256

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


def session_options(intra_op_threads: Optional[int] = None, level: str = 'all',
                    spinning: Optional[bool] = None):
    """SessionOptions: graph optimisation ``level`` ('disable' | 'basic' | 'extended' | 'all'),
    sequential execution, ``intra_op_threads`` (None: torch.get_num_threads()), the intra-op
    pool's spinning on or off (None: onnxruntime's default, on)."""
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
    if spinning is not None:
        options.add_session_config_entry('session.intra_op.allow_spinning', str(int(spinning)))
    return options


def _cpu_key() -> str:
    """12 hex digits of this CPU's model and flags: an optimised graph is for this CPU only."""
    text = platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith(('model name', 'flags', 'Features')):
                text += line
                if line.startswith(('flags', 'Features')):
                    break
    except OSError:
        pass
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_paths(path: Path) -> Tuple[Path, Path]:
    """(optimised graph, its record) for ``path`` under this onnxruntime and CPU."""
    stem = f'{path.stem}.ort-{_ort().__version__}-{_cpu_key()}.opt'
    return path.with_name(stem + '.onnx'), path.with_name(stem + '.json')


def _valid_cache(path: Path, source_sha256: str) -> Optional[Path]:
    """The optimised graph of ``path`` if its record names this source and its own bytes."""
    graph, record = cache_paths(path)
    try:
        entry = json.loads(record.read_text())
        if entry.get('source_content_sha256') == source_sha256 and graph.is_file() \
                and entry.get('sha256') == file_sha256(graph):
            return graph
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _session(path: Path, options, chosen, source_sha256: Optional[str], cache: bool):
    """An InferenceSession on ``path``, through (and filling) its optimised-graph cache."""
    ort = _ort()
    if not cache or not source_sha256 or chosen != [CPU] or \
            options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL:
        return ort.InferenceSession(str(path), options, providers=chosen)
    cached = _valid_cache(path, source_sha256)
    if cached is not None:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(cached), options, providers=chosen)
    graph, record = cache_paths(path)
    partial = graph.with_name(f'.{graph.name}.{os.getpid()}.tmp')
    options.optimized_model_filepath = str(partial)
    try:
        session = ort.InferenceSession(str(path), options, providers=chosen)
    except Exception:  # noqa: BLE001 - e.g. a folder it cannot write: try without the cache
        partial.unlink(missing_ok=True)
        options.optimized_model_filepath = ''
        return ort.InferenceSession(str(path), options, providers=chosen)
    try:
        os.replace(partial, graph)
        record.write_text(json.dumps({'source': path.name, 'source_content_sha256': source_sha256,
                                      'onnxruntime': ort.__version__,
                                      'sha256': file_sha256(graph)}, indent=1))
    except OSError:   # a read-only folder: no cache, the session stands
        partial.unlink(missing_ok=True)
    return session


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
              intra_op_threads: Optional[int] = None, level: str = 'all',
              spinning: Optional[bool] = None, optimized_cache: bool = True
              ) -> Tuple[OnnxPolicy, str]:
    """(OnnxPolicy, one line naming the providers); ``meta`` was read (and its binding
    checked) by the caller; ``optimized_cache``: see the module's docstring. Errors are
    AccelError naming the file."""
    ort = _ort()
    path = Path(path)
    if 'onnx' not in meta:
        raise AccelError(f'{path}: metadata has no onnx entry; export it again with '
                         f'`dil-ros export RUN --forms onnx`')
    chosen, message = providers(device, path, ort.get_available_providers())
    try:
        session = _session(path, session_options(intra_op_threads, level, spinning), chosen,
                           meta.get('content_sha256'), optimized_cache)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise AccelError(f'{path}: onnxruntime could not load it: '
                         f'{str(exc).strip().splitlines()[0]}') from None
    return OnnxPolicy(session, meta, device, str(path)), message
