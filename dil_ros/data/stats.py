"""Per-feature statistics (min/max/mean/std/count) over all frames, as LeRobot's stats.json."""

from typing import Dict, Iterable, List

import numpy as np

from dil_ros.data.episode import Episode

STAT_NAMES = ('min', 'max', 'mean', 'std', 'count')


def array_stats(values: np.ndarray) -> Dict[str, np.ndarray]:
    """Stats of a ``[N, D]`` array over its first axis (float64 accumulation, population std)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v.reshape(-1, 1)
    if v.shape[0] == 0:
        raise ValueError('cannot compute statistics of an empty array')
    return {
        'min': v.min(axis=0),
        'max': v.max(axis=0),
        'mean': v.mean(axis=0),
        'std': v.std(axis=0),
        'count': np.array([v.shape[0]], dtype=np.int64),
    }


def compute_stats(episodes: Iterable[Episode]) -> Dict[str, Dict[str, np.ndarray]]:
    """``{key: {'min','max','mean','std','count'}}`` for ``action`` and every observation key.

    Constant dimensions get ``std == 0``; the policy's normaliser decides how to treat them.
    """
    episodes = list(episodes)
    if not episodes:
        raise ValueError('cannot compute statistics of zero episodes')
    keys: List[str] = ['action'] + list(episodes[0].observations)
    out = {}
    for key in keys:
        parts = [ep.action if key == 'action' else ep.observations[key] for ep in episodes]
        out[key] = array_stats(np.concatenate(parts, axis=0))
    return out
