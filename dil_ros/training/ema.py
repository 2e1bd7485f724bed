"""Exponential moving average of model weights, with the decay schedule of Chi et al.'s EMAModel.

decay(step) = clamp(1 - (1 + s / inv_gamma) ** -power, min_value, max_value),
s = step - update_after_step - 1 (decay 0 while s <= 0, i.e. the average starts as a copy).
BatchNorm parameters, frozen parameters (such as normaliser statistics) and buffers are copied.
"""
import copy
from typing import Any, Dict

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

    def get_decay(self, optimization_step: int) -> float:
        c = self.config
        s = max(0, optimization_step - c.update_after_step - 1)
        if s <= 0:
            return 0.0
        value = 1 - (1 + s / c.inv_gamma) ** -c.power
        return max(c.min_value, min(value, c.max_value))

    @torch.no_grad()
    def step(self, model: nn.Module) -> None:
        self.decay = self.get_decay(self.optimization_step)
        for module, ema_module in zip(model.modules(), self.averaged_model.modules()):
            copy_only = isinstance(module, nn.modules.batchnorm._BatchNorm)
            for param, ema_param in zip(module.parameters(recurse=False),
                                        ema_module.parameters(recurse=False)):
                data = param.detach().to(dtype=ema_param.dtype)
                if copy_only or not param.requires_grad:
                    ema_param.copy_(data)
                else:
                    ema_param.mul_(self.decay).add_(data, alpha=1 - self.decay)
            for buf, ema_buf in zip(module.buffers(recurse=False),
                                    ema_module.buffers(recurse=False)):
                ema_buf.copy_(buf)
        self.optimization_step += 1

    def state_dict(self) -> Dict[str, Any]:
        return {'model': self.averaged_model.state_dict(),
                'optimization_step': self.optimization_step, 'decay': self.decay}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.averaged_model.load_state_dict(state['model'])
        self.optimization_step = int(state['optimization_step'])
        self.decay = float(state['decay'])
