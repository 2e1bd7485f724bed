"""When a run stops early: a wall-clock budget (``--time-limit``) or Ctrl+C, each checkpointed.

The first Ctrl+C (SIGINT) asks the loop to stop after the current step; the loop then saves a
checkpoint, writes the loss plot and returns as a finished run would. A second Ctrl+C aborts at
once (KeyboardInterrupt). Under torchrun every rank stops at the same step: the loop combines
the ranks' stop requests before acting on them.
"""
import re
import signal
import threading
import time
from typing import Optional

from dil_ros.errors import DilRosError

_UNITS = {'h': 3600.0, 'm': 60.0, 's': 1.0}
_DURATION = re.compile(r'(\d+(?:\.\d*)?|\.\d+)\s*([hms]?)')


class DurationError(DilRosError, ValueError):
    """A duration such as --time-limit cannot be read; names the option."""


def parse_duration(text: str, where: str = '--time-limit') -> float:
    """Seconds in ``text``: ``90`` or ``90s``, ``20m``, ``1.5h``, ``1h30m``."""
    s = str(text).strip().lower().replace(' ', '')
    pos, total = 0, 0.0
    while pos < len(s):
        match = _DURATION.match(s, pos)
        if not match or (not match.group(2) and (pos or match.end() != len(s))):
            raise DurationError(f'{where}: {text!r} is not a duration (write 90, 90s, 20m, 1.5h '
                                'or 1h30m)')
        total += float(match.group(1)) * _UNITS[match.group(2) or 's']
        pos = match.end()
    if not s or total <= 0:
        raise DurationError(f'{where}: {text!r} must be a positive duration')
    return total


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f'{h}h{m:02d}m{s:02d}s' if h else (f'{m}m{s:02d}s' if m else f'{s}s')


class StopRequest:
    """Catches the first Ctrl+C and a wall-clock deadline; ``reason()`` says which hit, if any.

    Use as a context manager around the loop; it installs its SIGINT handler only in the main
    thread (elsewhere Ctrl+C keeps Python's default) and restores the previous one on exit.
    """

    def __init__(self, time_limit_s: Optional[float] = None, announce: bool = True):
        self.started = time.monotonic()
        self.deadline = None if time_limit_s is None else self.started + float(time_limit_s)
        self.interrupted = False
        self.announce = announce
        self._previous = None

    def __enter__(self) -> 'StopRequest':
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _on_sigint(self, signum, frame) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        if self.announce:
            print('\nCtrl+C: stopping after this step with a checkpoint '
                  '(Ctrl+C again aborts without one)', flush=True)

    def remaining(self) -> Optional[float]:
        """Seconds left before the deadline (None without one)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def reason(self) -> Optional[str]:
        """'interrupted', 'time limit' or None (keep going)."""
        if self.interrupted:
            return 'interrupted'
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 'time limit'
        return None
