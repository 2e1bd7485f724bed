"""The one rule that puts stamped observations on the policy grid, for training and serving.

The converter (bags -> dataset, :mod:`dil_ros.data.convert`) and the policy node's observation
buffer (:mod:`dil_ros.control.obs_buffer`) both call :func:`sample_series` with the contract's
``sampling`` rule, so a policy sees at run time what it was trained on.

Rules:

* ``previous`` (zero-order hold): the newest value stamped at or before each instant.
* ``linear``: interpolated between the values either side of each instant.

Before the first stamp both rules repeat the first value; after the last, both hold the last.

Camera frames are never blended: whatever the rule, a window of frames is the ``previous``
pick, :func:`frame_indices` (the converter and the node both use it for image keys).

Time is int64 nanoseconds throughout (ROS stamps are integer nanoseconds): a message stamped
exactly on a grid instant is on it, on both paths. Interpolation weights are taken from int64
differences, never from absolute float seconds, whose resolution near 1.7e9 s is about 0.2 us.
"""

import numpy as np

RULES = ('previous', 'linear')
DEFAULT_RULE = 'previous'


def period_offsets_ns(n: int, rate_hz: float) -> np.ndarray:
    """``[0, 1/rate, 2/rate, ...]`` (``n`` values) in int64 nanoseconds."""
    return np.round(np.arange(n) * (1e9 / rate_hz)).astype(np.int64)


def window_ns(end_ns: int, n_steps: int, rate_hz: float) -> np.ndarray:
    """``n_steps`` instants 1/rate_hz apart, oldest first, the last one at ``end_ns``."""
    return int(end_ns) - period_offsets_ns(n_steps, rate_hz)[::-1]


def frame_indices(times_ns: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Index of the newest of ``times_ns`` (non-decreasing int64) at or before each of ``at_ns``
    (the first before the first stamp): the ``previous`` rule as indices, for image keys."""
    times = np.asarray(times_ns, dtype=np.int64)
    if len(times) == 0:
        raise ValueError('cannot sample an empty series')
    i = np.searchsorted(times, np.asarray(at_ns, dtype=np.int64), side='right') - 1
    return np.clip(i, 0, len(times) - 1)


def sample_series(times_ns: np.ndarray, values: np.ndarray, at_ns: np.ndarray,
                  rule: str = DEFAULT_RULE) -> np.ndarray:
    """``values`` ([N, D], at non-decreasing int64 ``times_ns``) at int64 ``at_ns`` -> [M, D]."""
    if rule not in RULES:
        raise ValueError(f'sampling rule must be one of {RULES}, got {rule!r}')
    times = np.asarray(times_ns, dtype=np.int64)
    at = np.asarray(at_ns, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 0:
        raise ValueError('cannot sample an empty series')
    i = np.searchsorted(times, at, side='right') - 1
    if rule == 'previous' or len(times) == 1:
        return values[frame_indices(times, at)]
    i = np.clip(i, 0, len(times) - 2)
    span = times[i + 1] - times[i]
    w = np.where(span > 0, (at - times[i]) / np.maximum(span, 1), 1.0)
    w = np.clip(w, 0.0, 1.0)[:, None]
    return values[i] + w * (values[i + 1] - values[i])
