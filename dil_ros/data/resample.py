"""The policy grid of one recording; find gaps and idle starts/ends.

The grid runs at the contract's ``rate_hz`` from the first instant every key has a value to the
last instant every key still has one: a key's last value counts for ``hold`` past its last
message (the contract's ``max_age_s``, or the converter's ``--max-staleness``), so a slow or
latched topic (a goal published once) does not end the episode at its last message. Values are
put on it by :func:`dil_ros.sampling.sample_series` with the contract's ``sampling`` rule, as the
policy node does at run time; after a key's last message both hold its last value.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from dil_ros.sampling import period_offsets_ns


@dataclass(frozen=True)
class Gap:
    key: str
    topic: str
    start_s: float
    length_s: float

    def __str__(self) -> str:
        return (f'topic {self.topic} ({self.key}): no message for {self.length_s:.3f} s '
                f'after t = {self.start_s:.3f} s')


def grid(series_times: Dict[str, np.ndarray], rate_hz: float,
         hold_ns: Optional[Dict[str, float]] = None) -> Tuple[int, np.ndarray]:
    """``(t0_ns, offsets_ns)``: the grid start and its int64 offsets from it, in nanoseconds.

    ``hold_ns`` (key -> ns, inf allowed; missing keys 0) lets a key's last value count that long
    after its last message, never past the last message of all keys. Integer nanoseconds keep a
    message recorded exactly on a grid instant on that instant. Empty offsets when the keys never
    overlap in time.
    """
    hold = hold_ns or {}
    t0 = max(int(t[0]) for t in series_times.values())
    t_end = max(int(t[-1]) for t in series_times.values())
    t1 = min([t_end] + [int(t[-1]) + int(hold.get(k, 0)) for k, t in series_times.items()
                        if hold.get(k, 0) < t_end - int(t[-1])])
    if t1 < t0:
        return t0, np.zeros(0, dtype=np.int64)
    n = int(np.floor((t1 - t0) * 1e-9 * rate_hz + 1e-9)) + 1
    return t0, period_offsets_ns(n, rate_hz)


def find_gaps(key: str, topic: str, times_s: np.ndarray, threshold_s: float,
              lo_s: float, hi_s: float) -> List[Gap]:
    """Intervals longer than ``threshold_s`` between messages, within ``[lo_s, hi_s]``."""
    t = times_s[(times_s >= lo_s) & (times_s <= hi_s)]
    t = np.concatenate([[lo_s], t, [hi_s]])
    d = np.diff(t)
    return [Gap(key, topic, float(t[i]), float(d[i])) for i in np.flatnonzero(d > threshold_s)]


def active_range(action: np.ndarray, tolerance: float) -> Tuple[int, int]:
    """``[first, last)`` frames keeping one idle frame before the first action change and
    after the last one. ``(0, 0)`` when the action never changes by more than ``tolerance``."""
    if len(action) < 2:
        return 0, 0
    moving = np.any(np.abs(np.diff(action, axis=0)) > tolerance, axis=1)
    changes = np.flatnonzero(moving)
    if len(changes) == 0:
        return 0, 0
    return int(changes[0]), int(changes[-1]) + 2
