"""How a training step runs fast: optimizer kernel, mixed precision, compiled loss step.

Each choice is a config key (config.py) whose off value is the plain eager step, so the plain path
stays one YAML line away and bench/bench_train.py times both in one run:

* ``optim.impl``: AdamW's kernel. ``for-loop`` updates tensor by tensor (torch's CPU default
  before we chose); ``foreach`` batches the tensors into a few multi-tensor ops; ``fused`` runs the
  whole update as one kernel per dtype (CPU and CUDA); ``auto`` = ``fused``. All three compute the
  same AdamW (tests hold them within float32 rounding of each other).
* ``train.amp`` / ``train.amp_dtype``: autocast. ``auto`` is bf16 on a CPU (AMX/AVX-512-BF16 run
  its matrix products natively) and on a CUDA device that supports it (no loss scaling needed),
  else fp16 with a GradScaler. The loss itself is computed in float32 (objectives.py).
* ``train.compile``: ``torch.compile`` of the loss module (forward and, through AOTAutograd, its
  backward; the random draws stay outside, so a run remains a pure function of its seeds), with
  ``train.compile_mode`` as torch.compile's ``mode``. The first step pays the compilation (seconds
  with a warm inductor cache, minutes cold: see docs/benchmarks.md, c). Off by default: on our
  CPU (a Xeon with AVX-512 and AMX) its steady step is slower than the eager one (inductor's fused GroupNorm +
  Mish forward wins, its backward loses more), so it is a GPU option.

Tried on that CPU and left out because they did not help (docs/benchmarks.md, c): convolutions in a
channels-last 2-D layout (oneDNN's preferred one; the relayout copies cost what it saves),
``torch.backends.mkldnn`` fp32 -> bf16 math (slower in fp32, equal under autocast), compiling
GroupNorm + Mish alone, and flushing denormals (no change).
"""
import contextlib
from typing import Iterable

import torch

from dil_ros.training.config import OptimConfig, TrainConfig

OPTIM_IMPLS = ('auto', 'fused', 'foreach', 'for-loop')
AMP_DTYPES = ('auto', 'bf16', 'fp16')
COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs')


def make_optimizer(params: Iterable[torch.nn.Parameter], config: OptimConfig,
                   device: torch.device) -> torch.optim.AdamW:
    """AdamW with the configured kernel (``auto``: fused where torch has it for ``device``)."""
    impl = config.impl
    if impl == 'auto':
        impl = 'fused' if device.type in ('cpu', 'cuda') else 'foreach'
    flags = {'fused': {'fused': True}, 'foreach': {'foreach': True},
             'for-loop': {'foreach': False, 'fused': False}}[impl]
    return torch.optim.AdamW(params, lr=config.lr, betas=config.betas,
                             weight_decay=config.weight_decay, **flags)


def amp_dtype(device: torch.device, config: TrainConfig) -> torch.dtype:
    """The autocast dtype ``config`` asks for on ``device`` (see the module docstring)."""
    if config.amp_dtype == 'fp16':
        return torch.float16
    if config.amp_dtype == 'bf16' or device.type != 'cuda':
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, config: TrainConfig):
    """Mixed precision as configured (a no-op when ``train.amp`` is off)."""
    if not config.amp:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=amp_dtype(device, config))


def needs_grad_scaler(device: torch.device, config: TrainConfig) -> bool:
    """fp16 on CUDA needs loss scaling; bf16 has float32's exponent range and does not."""
    return config.amp and device.type == 'cuda' and amp_dtype(device, config) == torch.float16


def compiled(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """``model`` under torch.compile in ``train.compile_mode`` when ``train.compile`` is on (static
    shapes: every batch of a run has the same size), else ``model`` itself."""
    if not config.compile:
        return model
    return torch.compile(model, dynamic=False, mode=config.compile_mode)
