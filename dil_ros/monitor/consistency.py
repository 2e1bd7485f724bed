"""Chunk consistency: how much a new chunk disagrees with the previous one where they overlap.

Chunk ``i``'s action ``k`` is due at ``stamp + (k - (To - 1)) * dt`` (the scheduler's timeline,
control/scheduler.py). The score is the RMS difference, in normalised action units (``scale`` =
the normaliser's per-joint scale, so 1.0 is half the training range), between the new chunk and
the previous chunk linearly interpolated at the new chunk's times from its stamp on (the future
both chunks plan). A policy that knows where it is replans what it planned; one that is lost
changes its mind. NaN when there is no previous chunk or no overlap.
"""
from typing import Optional

import numpy as np


def chunk_times(stamp: float, dt: float, horizon: int, n_obs_steps: int) -> np.ndarray:
    return stamp + (np.arange(horizon) - (n_obs_steps - 1)) * dt


def chunk_disagreement(prev_stamp: Optional[float], prev: Optional[np.ndarray], stamp: float,
                       actions: np.ndarray, dt: float, n_obs_steps: int,
                       scale: np.ndarray) -> float:
    if prev is None or prev_stamp is None:
        return float('nan')
    actions = np.asarray(actions, dtype=np.float64)
    prev = np.asarray(prev, dtype=np.float64)
    t_new = chunk_times(stamp, dt, len(actions), n_obs_steps)
    t_prev = chunk_times(prev_stamp, dt, len(prev), n_obs_steps)
    keep = (t_new >= stamp - 1e-9) & (t_new <= t_prev[-1] + 1e-9)
    if not keep.any():
        return float('nan')
    old = np.stack([np.interp(t_new[keep], t_prev, prev[:, j]) for j in range(prev.shape[1])],
                   axis=1)
    diff = (actions[keep] - old) * np.asarray(scale, dtype=np.float64)
    return float(np.sqrt(np.mean(diff ** 2)))
