"""Split-conformal thresholds from calibration episodes (Vovk et al.; as in FAIL-Detect).

An episode alarms when any of its chunks' scores exceeds the threshold, so the calibrated quantity
is each calibration episode's maximum score. With ``n`` exchangeable successful episodes, the
threshold ``s_(k)`` (the k-th smallest maximum, ``k = ceil((n + 1)(1 - alpha))``) gives a new
successful episode a false-alarm probability of at most ``alpha``. Several scores share ``alpha``
(Bonferroni: each gets ``alpha / m``), so the alarm on any score keeps the bound.
"""
import math
from typing import Dict, Mapping, Sequence

import numpy as np

from dil_ros.errors import DilRosError


class CalibrationError(DilRosError, ValueError):
    """Too few or unusable calibration episodes (the message names the source and the score)."""


def conformal_rank(n: int, alpha: float) -> int:
    """k = ceil((n + 1)(1 - alpha)); k > n means n episodes cannot support ``alpha``."""
    if not 0.0 < alpha < 1.0:
        raise CalibrationError(f'alpha: must be in (0, 1), got {alpha!r}')
    return int(math.ceil((n + 1) * (1.0 - alpha) - 1e-12))


def min_episodes(alpha: float) -> int:
    """The fewest episodes for which ``conformal_rank(n, alpha) <= n``."""
    return int(math.ceil(1.0 / alpha - 1.0 - 1e-12))


def conformal_threshold(maxima: Sequence[float], alpha: float, what: str = 'score') -> float:
    """The k-th smallest of the finite episode maxima (see the module docstring)."""
    values = np.sort(np.asarray([v for v in maxima if np.isfinite(v)], dtype=np.float64))
    k = conformal_rank(len(values), alpha)
    if k > len(values):
        raise CalibrationError(f'{what}: {len(values)} calibration episodes cannot give a '
                               f'false-alarm rate of {alpha:g}; need at least '
                               f'{min_episodes(alpha)}')
    return float(values[k - 1])


def thresholds(episode_maxima: Mapping[str, Sequence[float]], alpha: float,
               source: str = 'calibration') -> Dict[str, float]:
    """{score: threshold} at ``alpha / len(scores)`` each."""
    if not episode_maxima:
        raise CalibrationError(f'{source}: no scores to calibrate')
    share = alpha / len(episode_maxima)
    return {name: conformal_threshold(values, share, f'{source}: {name}')
            for name, values in episode_maxima.items()}
