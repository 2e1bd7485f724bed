"""policy.onnx: the whole policy as one ONNX graph, for onnxruntime (CPU, CUDA, TensorRT).

The graph is the policy.ts computation for one batch size: observation normalisation, the camera
encoders (uint8 frames ``[B, To, h, w, 3]`` in, at the contract's size), the FiLM terms of every
DDIM step (computed once per chunk), the DDIM loop with the exported step count unrolled, and the
action unnormalisation. Inputs: the observation keys in sorted order, then ``noise`` [B, Tp, Da];
output ``actions`` [B, Tp, Da] in physical units.

Why the DDIM loop is inside the graph (not in a Python wrapper around a denoiser graph): policy.ts
already fixes the step count at export, so nothing is lost; one ``session.run`` per chunk has no
per-step Python or copies; the runtime folds the step-embedding half of every FiLM term into
constants and fuses across steps; and a Jetson builds one TensorRT engine from one file.

The export traces the eager policy with TorchScript's ONNX exporter (``dynamo=False``: the
dynamo exporter did not finish in 15 minutes on the small U-Net with the loop unrolled, while the
trace takes seconds; onnxscript is not needed). While tracing, the U-Net's ``conv1d_gemm`` (an
unfold + GEMM that helps PyTorch on a CPU and that ONNX cannot express) is replaced by
``F.conv1d``, the same sums: every ONNX runtime has a fast native Conv.

The metadata (policy.ts's, bound to it by binding.bind) is stored as the model's metadata_props
entry ``dil_ros.json``, with ``content_sha256``: the sha256 of the serialized model without that
entry (``onnx_content_sha256``), so a changed weight or node is found before the graph is loaded.
"""
import contextlib
import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from dil_ros.accel.errors import AccelError
from dil_ros.atomic import atomic_file
from dil_ros.policy.artifact import EXTRA_FILE
from dil_ros.policy.digest import write_sha256_file

OPSET = 18
NOISE_INPUT = 'noise'
OUTPUT = 'actions'


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise AccelError('form onnx: the onnx package is not installed (pip install -r '
                         'requirements.txt -c constraints.txt)') from None
    return onnx


class _PositionalPolicy(nn.Module):
    """``policy(obs, noise)`` with the observations as positional tensors in ``keys`` order."""

    def __init__(self, policy: nn.Module, keys):
        super().__init__()
        self.policy = policy
        self.keys = list(keys)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        obs = dict(zip(self.keys, inputs[:-1]))
        return self.policy(obs, inputs[-1])


def _conv1d(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
            stride: int = 1, padding: int = 0) -> torch.Tensor:
    return F.conv1d(x, weight, bias, stride, padding)


@contextlib.contextmanager
def native_convolutions() -> Iterator[None]:
    """While tracing: the U-Net's ``conv1d_gemm`` is ``F.conv1d`` (an ONNX Conv node)."""
    from dil_ros.policy import unet

    original = unet.conv1d_gemm
    unet.conv1d_gemm = _conv1d
    try:
        yield
    finally:
        unet.conv1d_gemm = original


def export_onnx(policy: nn.Module, path: Union[str, Path], metadata: Mapping[str, Any],
                example_obs: Dict[str, torch.Tensor], example_noise: torch.Tensor) -> Path:
    """Trace the eager ``policy(obs, noise)`` at the examples' shapes (CPU) into ``path``.

    The batch size is that of the examples; cameras are taken at the examples' frame size (the
    contract's). Metadata records an ``onnx`` entry (inputs with shapes and dtypes, opset, torch
    version) and ``content_sha256``; path.sha256 is written beside the file.
    """
    onnx = _require_onnx()
    path = Path(path)
    if path.suffix != '.onnx':
        raise AccelError(f'{path}: an ONNX form must end in .onnx')
    if isinstance(policy, torch.jit.ScriptModule):
        raise AccelError('onnx export: needs the eager policy, not a TorchScript module')
    keys = sorted(example_obs)
    args = tuple(example_obs[k].cpu() for k in keys) + (example_noise.cpu(),)
    meta = dict(metadata)
    meta['onnx'] = {
        'inputs': [{'name': k, 'shape': list(example_obs[k].shape),
                    'dtype': str(example_obs[k].dtype).replace('torch.', '')} for k in keys],
        'noise_shape': list(example_noise.shape), 'batch_size': int(example_noise.shape[0]),
        'opset': OPSET, 'torch': torch.__version__, 'exporter': 'torchscript-trace',
        'ddim_loop': 'in-graph',
    }
    wrapper = _PositionalPolicy(policy.cpu().eval(), keys).eval()
    buffer = io.BytesIO()
    with torch.no_grad(), native_convolutions(), warnings.catch_warnings():
        warnings.simplefilter('ignore')   # tracer warnings about the shape checks (fixed here)
        torch.onnx.export(wrapper, args, buffer, input_names=keys + [NOISE_INPUT],
                          output_names=[OUTPUT], opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
    model = onnx.load_from_string(buffer.getvalue())
    return write_onnx(path, model, meta)


def _strip(model) -> Any:
    out = type(model)()
    out.CopyFrom(model)
    kept = [p for p in out.metadata_props if p.key != EXTRA_FILE]
    del out.metadata_props[:]
    out.metadata_props.extend(kept)
    return out


def onnx_content_sha256(model) -> str:
    """sha256 of the model serialized (deterministically) without its ``dil_ros.json`` entry."""
    data = _strip(model).SerializeToString(deterministic=True)
    return hashlib.sha256(data).hexdigest()


def write_onnx(path: Path, model, meta: Mapping[str, Any]) -> Path:
    """``model`` with ``meta`` (plus its ``content_sha256``) written atomically; checked by
    reading it back; path.sha256 beside it."""
    meta = dict(meta)
    model = _strip(model)
    meta['content_sha256'] = onnx_content_sha256(model)
    entry = model.metadata_props.add()
    entry.key = EXTRA_FILE
    entry.value = json.dumps(meta, indent=1, sort_keys=True, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, suffix='.onnx') as tmp:
        tmp.write_bytes(model.SerializeToString(deterministic=True))
        _, content = read_onnx(tmp)
        if content != meta['content_sha256']:
            raise AccelError(f'{path} (export): the model read back has another content sha256 '
                             f'than written; cannot seal it')
    write_sha256_file(path)
    return path


def read_onnx(path: Union[str, Path]) -> Tuple[Dict[str, Any], str]:
    """(the ``dil_ros.json`` metadata, the content sha256 as the file is now), read as protobuf
    data: no runtime session is created. Errors are AccelError naming the file."""
    onnx = _require_onnx()
    path = Path(path)
    if not path.is_file():
        raise AccelError(f'{path}: ONNX form not found')
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - protobuf decode errors of several kinds
        raise AccelError(f'{path}: not a readable ONNX model: {exc}') from None
    raw = next((p.value for p in model.metadata_props if p.key == EXTRA_FILE), None)
    if raw is None:
        raise AccelError(f'{path}: no {EXTRA_FILE} metadata inside; not exported by dil_ros')
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise AccelError(f'{path}: {EXTRA_FILE}: not valid JSON: {exc}') from None
    if not isinstance(meta, dict):
        raise AccelError(f'{path}: {EXTRA_FILE}: expected a JSON object')
    return meta, onnx_content_sha256(model)
