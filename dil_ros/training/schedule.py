"""The learning-rate schedule: warm-up, then diffusers' schedule sized to steps or a time budget.

Warm-up is capped at 10 % of the run so short runs reach the peak rate; a cap is announced.

With ``--time-limit`` the run's length is fixed once, early: after ``SKIP_STEPS`` steps (start-up
costs) the loop times at least ``MIN_STEPS`` steps over at least ``window_s`` (10 % of the
budget, at most 60 s), and the run's total becomes the steps that fit in the time left at that
pace, less 3 % (checkpoints, validation), never more than the configured steps. The schedule is
rebuilt for that total at the current step, so the cosine reaches its end as the budget runs out.
The new total is recorded in the run's config, so ``--resume`` keeps the schedule; the deadline
itself still stops the run (with a checkpoint) if the pace drops.
"""
import math
from typing import Callable, Optional

from diffusers.optimization import get_scheduler

WARMUP_FRACTION = 0.1
SKIP_STEPS = 3
MIN_STEPS = 5
MAX_WINDOW_S = 60.0
WINDOW_FRACTION = 0.1
MARGIN = 0.97


def effective_warmup(warmup_steps: int, total: int) -> int:
    """Configured warm-up, capped at 10 % of the run so short runs reach the peak rate."""
    return min(warmup_steps, max(1, int(total * WARMUP_FRACTION)))


def make_lr_scheduler(optim_config, optimizer, total: int,
                      log: Optional[Callable[[str], None]] = None):
    """diffusers' ``get_scheduler`` with the (capped) warm-up, over ``total`` steps."""
    warmup = effective_warmup(optim_config.warmup_steps, total)
    if warmup < optim_config.warmup_steps and log is not None:
        log(f'note: optim.warmup_steps {optim_config.warmup_steps} capped at {warmup} '
            f'({WARMUP_FRACTION:.0%} of the run\'s {total} steps)')
    return get_scheduler(optim_config.lr_scheduler, optimizer=optimizer,
                         num_warmup_steps=warmup, num_training_steps=total)


def resize_lr_scheduler(scheduler, optim_config, optimizer, total: int,
                        log: Optional[Callable[[str], None]] = None):
    """A scheduler over ``total`` steps standing where ``scheduler`` stands; sets the lr."""
    resized = make_lr_scheduler(optim_config, optimizer, total, log)
    resized.load_state_dict(scheduler.state_dict())     # position; the new lambdas stay
    lrs = [base * fn(resized.last_epoch) for fn, base in zip(resized.lr_lambdas,
                                                             resized.base_lrs)]
    for group, lr in zip(optimizer.param_groups, lrs):
        group['lr'] = lr
    resized._last_lr = lrs
    return resized


class BudgetSizer:
    """Measures the step time early in a time-limited run and proposes the run's length once."""

    def __init__(self, start_step: int, total: int, time_limit_s: float):
        self.total = total
        self.window_s = min(MAX_WINDOW_S, WINDOW_FRACTION * time_limit_s)
        self.from_step = start_step + SKIP_STEPS
        self.t_from: Optional[float] = None
        self.done = False
        self.step_s: Optional[float] = None

    def observe(self, done: int, now: float, remaining_s: float) -> Optional[int]:
        """Call after each step (``done`` steps done); returns the new total once, else None."""
        if self.done:
            return None
        if done == self.from_step:
            self.t_from = now
            return None
        if self.t_from is None or done - self.from_step < MIN_STEPS or \
                now - self.t_from < self.window_s:
            return None
        self.done = True
        self.step_s = (now - self.t_from) / (done - self.from_step)
        fits = done + int(math.floor(max(0.0, remaining_s) * MARGIN / self.step_s))
        return max(done + 1, min(self.total, fits))
