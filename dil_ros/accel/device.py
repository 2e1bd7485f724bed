"""Turn a device parameter ('auto', 'cpu', 'cuda', 'cuda:N') into a torch.device.

A CUDA request on a machine without CUDA falls back to the CPU with a message saying why, so one
params file serves the GPU robot and the CPU laptop; a malformed request is an error.
"""
import re
from typing import Tuple

import torch

from dil_ros.accel.errors import AccelError

_CUDA = re.compile(r'^cuda(?::(\d+))?$')


def _why_no_cuda() -> str:
    if torch.version.cuda is None:
        return f'this torch ({torch.__version__}) is a CPU-only build'
    return 'no CUDA device is visible (driver missing or CUDA_VISIBLE_DEVICES empty)'


def resolve_device(requested: str) -> Tuple[torch.device, str]:
    """``requested`` -> (device, one-line message for the log).

    'auto' picks cuda:0 when available, else the CPU; 'cuda'/'cuda:N' fall back to the CPU when
    CUDA is unavailable (the message says so); an index past the visible GPUs is an error.
    """
    text = str(requested if requested is not None else 'auto').strip().lower()
    if text == 'auto':
        if torch.cuda.is_available():
            return torch.device('cuda:0'), f'device auto: using cuda:0 ({_gpu_name(0)})'
        return torch.device('cpu'), f'device auto: using cpu ({_why_no_cuda()})'
    if text == 'cpu':
        return torch.device('cpu'), 'device: using cpu'
    match = _CUDA.match(text)
    if not match:
        raise AccelError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {requested!r}")
    index = int(match.group(1) or 0)
    if not torch.cuda.is_available():
        return torch.device('cpu'), (f'device {text}: CUDA unavailable ({_why_no_cuda()}); '
                                     f'falling back to cpu')
    count = torch.cuda.device_count()
    if index >= count:
        raise AccelError(f'device: {text} requested but only {count} CUDA device(s) visible '
                         f'(cuda:0..cuda:{count - 1})')
    return torch.device('cuda', index), f'device: using cuda:{index} ({_gpu_name(index)})'


def _gpu_name(index: int) -> str:
    try:
        return torch.cuda.get_device_name(index)
    except Exception:  # noqa: BLE001 - name is for the log only
        return 'unknown GPU'
