"""Exponential moving average of model weights, with the decay schedule of Chi et al.'s EMAModel.

decay(step) = clamp(1 - (1 + s / inv_gamma) ** -power, min_value, max_value),
s = step - update_after_step - 1 (decay 0 while s <= 0, i.e. the average starts as a copy).
BatchNorm parameters, frozen parameters (such as normaliser statistics) and buffers are copied.

The update runs as a few ``torch._foreach_*`` calls over all tensors at once rather than one
``mul_``/``add_`` pair per parameter: the same arithmetic in the same order (tests hold it equal to
the per-tensor form bit for bit), with the Python and dispatch cost paid once per step instead of
once per tensor (a few hundred for a U-Net).
"""
import copy
from typing import Any, Dict, List, Tuple

import torch
from torch import nn

from dil_ros.training.config import EMAConfig


class EMAModel:
    """Holds ``averaged_model``, a deep copy of the model that ``step(model)`` moves towards it."""

    def __init__(self, model: nn.Module, config: EMAConfig):
        self.config = config
        self.averaged_model = copy.deepcopy(model).eval().requires_grad_(False)
        self.optimization_step = 0
        self.decay = 0.0
        self._pairs: Tuple[Any, List, List, List, List] = (None, [], [], [], [])
        self._convert = False

    def get_decay(self, optimization_step: int) -> float:
        c = self.config
        s = max(0, optimization_step - c.update_after_step - 1)
        if s <= 0:
            return 0.0
        value = 1 - (1 + s / c.inv_gamma) ** -c.power
        return max(c.min_value, min(value, c.max_value))

    def _tensor_pairs(self, model: nn.Module):
        """(averaged, source, copied-to, copied-from) tensor lists, built once per model."""
        if self._pairs[0] is model:
            return self._pairs[1:]
        avg, src, dst, copied = [], [], [], []
        for module, ema_module in zip(model.modules(), self.averaged_model.modules()):
            copy_only = isinstance(module, nn.modules.batchnorm._BatchNorm)
            for param, ema_param in zip(module.parameters(recurse=False),
                                        ema_module.parameters(recurse=False)):
                if copy_only or not param.requires_grad:
                    dst.append(ema_param)
                    copied.append(param)
                else:
                    avg.append(ema_param)
                    src.append(param)
            for buf, ema_buf in zip(module.buffers(recurse=False),
                                    ema_module.buffers(recurse=False)):
                dst.append(ema_buf)
                copied.append(buf)
        self._pairs = (model, avg, src, dst, copied)
        self._convert = any(a.dtype != s.dtype for a, s in zip(avg, src))
        return self._pairs[1:]

    @torch.no_grad()
    def step(self, model: nn.Module) -> None:
        self.decay = self.get_decay(self.optimization_step)
        avg, src, dst, copied = self._tensor_pairs(model)
        if avg:
            if self._convert:      # a model in another dtype than its average (rare)
                src = [s.to(dtype=a.dtype) for a, s in zip(avg, src)]
            torch._foreach_mul_(avg, self.decay)
            torch._foreach_add_(avg, src, alpha=1 - self.decay)
        if dst:
            torch._foreach_copy_(dst, copied)
        self.optimization_step += 1

    def state_dict(self) -> Dict[str, Any]:
        return {'model': self.averaged_model.state_dict(),
                'optimization_step': self.optimization_step, 'decay': self.decay}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.averaged_model.load_state_dict(state['model'])
        self.optimization_step = int(state['optimization_step'])
        self.decay = float(state['decay'])
