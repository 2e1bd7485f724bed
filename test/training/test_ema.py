"""EMA follows Chi et al.'s EMAModel decay schedule and update rule."""
import pytest
import torch
from torch import nn

from dil_ros.training.config import EMAConfig
from dil_ros.training.ema import EMAModel


def test_decay_schedule_matches_chi():
    ema = EMAModel(nn.Linear(2, 2), EMAConfig())
    assert ema.get_decay(0) == 0.0 and ema.get_decay(1) == 0.0
    for step in (2, 10, 1000):
        s = step - 1
        assert ema.get_decay(step) == pytest.approx(1 - (1 + s) ** -0.75)
    assert ema.get_decay(10 ** 9) == 0.9999
    late = EMAModel(nn.Linear(2, 2), EMAConfig(update_after_step=5))
    assert late.get_decay(6) == 0.0 and late.get_decay(7) > 0


def test_step_averages_trainable_and_copies_frozen():
    model = nn.Linear(1, 1, bias=True)
    model.bias.requires_grad_(False)
    ema = EMAModel(model, EMAConfig())
    ema.optimization_step = 3            # decay = 1 - 3 ** -0.75
    decay = 1 - 3 ** -0.75
    old = ema.averaged_model.weight.clone()
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(5.0)
    ema.step(model)
    assert ema.decay == pytest.approx(decay)
    assert torch.allclose(ema.averaged_model.weight, decay * old + (1 - decay) * 2.0)
    assert float(ema.averaged_model.bias) == 5.0
    state = ema.state_dict()
    other = EMAModel(nn.Linear(1, 1), EMAConfig())
    other.load_state_dict(state)
    assert other.optimization_step == 4
    assert torch.equal(other.averaged_model.weight, ema.averaged_model.weight)
