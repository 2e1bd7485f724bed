"""The lr schedule: announced warm-up capping, and resizing to a time budget mid-run."""
import pytest
import torch

from dil_ros.training.config import OptimConfig
from dil_ros.training.schedule import BudgetSizer, make_lr_scheduler, resize_lr_scheduler
from dil_ros.training.trainer import train


def _optimizer():
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)


def test_warmup_capping_is_announced(tmp_path, bimodal_dataset, contract_2d, train_request,
                                     capsys):
    notes = []
    make_lr_scheduler(OptimConfig(warmup_steps=500), _optimizer(), 1000, notes.append)
    assert notes == ["note: optim.warmup_steps 500 capped at 100 (10% of the run's 1000 steps)"]
    notes.clear()
    make_lr_scheduler(OptimConfig(warmup_steps=50), _optimizer(), 1000, notes.append)
    assert notes == []
    train(train_request(bimodal_dataset, tmp_path / 'run', contract_2d, steps=6))
    assert 'optim.warmup_steps 2 capped at 1' in capsys.readouterr().out


def test_resized_schedule_continues_where_it_stands():
    cfg = OptimConfig(lr=1e-3, warmup_steps=10)
    opt = _optimizer()
    sched = make_lr_scheduler(cfg, opt, 1000)
    for _ in range(40):
        opt.step()
        sched.step()
    sched = resize_lr_scheduler(sched, cfg, opt, 100)
    fresh_opt = _optimizer()
    fresh = make_lr_scheduler(cfg, fresh_opt, 100)
    for _ in range(40):
        fresh_opt.step()
        fresh.step()
    assert sched.last_epoch == 40
    assert opt.param_groups[0]['lr'] == pytest.approx(fresh_opt.param_groups[0]['lr'])
    for _ in range(60):
        opt.step()
        sched.step()
    assert opt.param_groups[0]['lr'] == pytest.approx(0.0, abs=1e-12)   # cosine ends at 100


def test_budget_sizer_fits_the_steps_in_the_time_left():
    sizer = BudgetSizer(start_step=0, total=100000, time_limit_s=100.0)   # window 10 s
    assert sizer.observe(3, now=10.0, remaining_s=90.0) is None          # measuring from here
    assert sizer.observe(13, now=15.0, remaining_s=85.0) is None         # window not yet full
    assert sizer.observe(23, now=20.0, remaining_s=80.0) == 23 + int(80 * 0.97 / 0.5)
    assert sizer.observe(24, now=20.5, remaining_s=79.5) is None          # decided once
    short = BudgetSizer(start_step=0, total=20, time_limit_s=100.0)
    short.observe(3, now=0.0, remaining_s=100.0)
    assert short.observe(13, now=10.0, remaining_s=90.0) == 20           # never past --steps
