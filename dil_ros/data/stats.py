"""Per-feature statistics over all frames, as LeRobot's stats.json holds them.

Each key gets ``min``, ``max``, ``mean``, ``std``, ``count`` and the quantiles LeRobot 0.4 writes
(``q01``, ``q10``, ``q50``, ``q90``, ``q99``; lerobot/datasets/compute_stats.py DEFAULT_QUANTILES),
so LeRobot's QUANTILES / QUANTILE10 normalisation modes can use our datasets. LeRobot estimates
quantiles from histograms; ours are exact (numpy's linear interpolation).
"""

from typing import Dict, Iterable, List

import numpy as np

from dil_ros.data.episode import Episode

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_NAMES = tuple(f'q{round(q * 100):02d}' for q in QUANTILES)
STAT_NAMES = ('min', 'max', 'mean', 'std', 'count') + QUANTILE_NAMES


def array_stats(values: np.ndarray) -> Dict[str, np.ndarray]:
    """Stats of a ``[N, D]`` array over its first axis (float64 accumulation, population std)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v.reshape(-1, 1)
    if v.shape[0] == 0:
        raise ValueError('cannot compute statistics of an empty array')
    out = {
        'min': v.min(axis=0),
        'max': v.max(axis=0),
        'mean': v.mean(axis=0),
        'std': v.std(axis=0),
        'count': np.array([v.shape[0]], dtype=np.int64),
    }
    for name, q in zip(QUANTILE_NAMES, np.quantile(v, QUANTILES, axis=0)):
        out[name] = q
    return out


def compute_stats(episodes: Iterable[Episode]) -> Dict[str, Dict[str, np.ndarray]]:
    """``{key: {stat: array}}`` (STAT_NAMES) for ``action`` and every low-dim observation key
    (cameras: lerobot_video.image_stats).

    Constant dimensions get ``std == 0``; the policy's normaliser decides how to treat them.
    """
    episodes = list(episodes)
    if not episodes:
        raise ValueError('cannot compute statistics of zero episodes')
    keys: List[str] = ['action'] + episodes[0].lowdim_keys
    out = {}
    for key in keys:
        parts = [ep.action if key == 'action' else ep.observations[key] for ep in episodes]
        out[key] = array_stats(np.concatenate(parts, axis=0))
    return out
