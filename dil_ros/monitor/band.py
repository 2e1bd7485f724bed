"""Time-varying conformal thresholds: a band over episode time, calibrated on episode maxima.

A score's nominal level changes over an episode (denoise is highest on the first chunks, the arm at
rest; consistency on the second chunk depends on inference timing), so one threshold per episode
is set by the episode's most extreme phase and misses raised values elsewhere. The band keeps the
one-number-per-episode calibration (so alpha and the episode count needed are those of the
constant rule) and moves the time dependence into the score:

1. A time profile of the nominal score, from the calibration chunks: on a grid of episode times,
   the median ``m(t)`` and the scale ``s(t)`` (1.4826 MAD) of ``log(score + EPS)`` over the chunks
   within ``HALF_WINDOW_S`` (a running window: smoothing), linearly interpolated between grid
   points and held constant past its ends. The scale has a floor (``SCALE_FLOOR`` of the median
   scale, at least ``MIN_SCALE``) so a phase where every episode looks alike (the arm at rest), or
   a score that is ~0 throughout (novelty replayed on the training set), does not make its
   threshold arbitrarily tight.
2. The standardised score ``z = (log(score + EPS) - m(t)) / s(t)``; each calibration episode's
   maximum of z, with the profile made WITHOUT that episode (leave-one-out, so the episode's own
   chunks do not shrink its z as an in-sample profile would), gives one conformal multiplier
   ``c`` (the split-conformal rank, alpha / number of scores, see conformal.py).
3. At run time the threshold at episode time t is ``exp(m(t) + c s(t)) - EPS``: an alarm exactly
   when z > c.

Episode time is the chunk's stamp minus the stamp of the first chunk after the monitor's reset
(policy_node: configure, ``~/reset`` or ``~/enable`` turning it on); on a robot, the time since the
policy started the task.
"""
from dataclasses import dataclass
import math
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from dil_ros.monitor.conformal import CalibrationError, conformal_threshold

EPS = 1e-9            # log(0) guard; scores are non-negative
GRID_S = 0.2          # profile grid step [s]
HALF_WINDOW_S = 0.3   # chunks within this of a grid time make its median and scale
MIN_VALUES = 10       # a grid time with fewer chunks is not part of the profile
SCALE_FLOOR = 0.25    # of the median scale over the grid
MIN_SCALE = 0.05      # log units: values within ~5% of each other are not told apart
RULES = ('time-varying', 'constant')   # dil-ros calibrate --rule (the first is the default)


@dataclass
class Band:
    """One score's profile (grid times, centre and scale of log(score + EPS)) and multiplier."""

    times: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    multiplier: float

    def profile(self, t):
        """(centre, scale) of log(score + EPS) at episode time(s) ``t``."""
        return np.interp(t, self.times, self.center), np.interp(t, self.times, self.scale)

    def z(self, t, value):
        """Standardised score at episode time(s) ``t``."""
        m, s = self.profile(t)
        return (np.log(np.maximum(np.asarray(value, dtype=np.float64), 0.0) + EPS) - m) / s

    def threshold(self, t: float) -> float:
        m, s = self.profile(t)
        return math.exp(float(m) + self.multiplier * float(s)) - EPS

    def to_json(self) -> Dict[str, Any]:
        return {'times': [round(float(v), 6) for v in self.times],
                'center': [float(v) for v in self.center],
                'scale': [float(v) for v in self.scale], 'multiplier': float(self.multiplier)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], what: str) -> 'Band':
        """Errors name ``what`` (file: score) and the field."""
        try:
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ('times', 'center', 'scale')]
            multiplier = float(data['multiplier'])
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f'{what}: not a band ({type(exc).__name__}: {exc})') from None
        times, center, scale = arrays
        if (times.ndim != 1 or len(times) == 0 or any(a.shape != times.shape for a in arrays)
                or not all(np.isfinite(a).all() for a in arrays) or not math.isfinite(multiplier)
                or (np.diff(times) <= 0).any() or (scale <= 0).any()):
            raise CalibrationError(f'{what}: band needs equally long finite times (increasing), '
                                   f'center, scale (> 0) and a finite multiplier')
        return cls(times, center, scale, multiplier)


def _stack(episodes: Sequence[Sequence[Sequence[float]]]):
    """(E, C) arrays of times and log values, NaN-padded; non-finite values dropped."""
    width = max(len(t) for t, _ in episodes)
    times = np.full((len(episodes), width), np.nan)
    logs = np.full((len(episodes), width), np.nan)
    for i, (t, v) in enumerate(episodes):
        t, v = np.asarray(t, dtype=np.float64), np.asarray(v, dtype=np.float64)
        ok = np.isfinite(t) & np.isfinite(v)
        times[i, :ok.sum()] = t[ok]
        logs[i, :ok.sum()] = np.log(np.maximum(v[ok], 0.0) + EPS)
    return times, logs


def _profiles(times, logs, grid):
    """Centre and scale on ``grid`` for every leave-one-out set and for all: arrays of shape
    (E + 1, G); row E uses every episode. Grid times with too few chunks are NaN."""
    n = len(times)
    center = np.full((n + 1, len(grid)), np.nan)
    scale = np.full((n + 1, len(grid)), np.nan)
    keep = ~np.eye(n + 1, n, dtype=bool)          # row i leaves episode i out; row n keeps all
    for j, g in enumerate(grid):
        near = np.where(np.abs(times - g) <= HALF_WINDOW_S, logs, np.nan)   # (E, C)
        sets = np.where(keep[:, :, None], near[None], np.nan).reshape(n + 1, -1)
        enough = np.sum(np.isfinite(sets), axis=1) >= MIN_VALUES
        if not enough.any():
            continue
        med = np.nanmedian(sets[enough], axis=1)
        mad = np.nanmedian(np.abs(sets[enough] - med[:, None]), axis=1)
        center[enough, j], scale[enough, j] = med, 1.4826 * mad
    return center, scale


def _fill(times, center, scale):
    """Drop NaN grid points; floor the scale. None when nothing is left."""
    ok = np.isfinite(center) & np.isfinite(scale)
    if not ok.any():
        return None
    center, scale = center[ok], scale[ok]
    floor = max(SCALE_FLOOR * float(np.median(scale)), MIN_SCALE)
    return times[ok], center, np.maximum(scale, floor)


def calibrate_band(episodes: Sequence[Sequence[Sequence[float]]], alpha: float,
                   what: str = 'score') -> Band:
    """``episodes``: [(episode times, values)] of one score in successful episodes; ``alpha``:
    this score's share of the false-alarm rate. CalibrationError naming ``what`` when there are
    too few episodes (the same minimum as the constant rule) or too few chunks for a profile."""
    episodes = [(t, v) for t, v in episodes if np.isfinite(np.asarray(v, dtype=float)).any()]
    if not episodes:
        raise CalibrationError(f'{what}: no finite values to calibrate')
    times, logs = _stack(episodes)
    grid = np.arange(0.0, np.nanmax(times) + GRID_S, GRID_S)
    center, scale = _profiles(times, logs, grid)
    full = _fill(grid, center[-1], scale[-1])
    if full is None:
        raise CalibrationError(f'{what}: fewer than {MIN_VALUES} chunks within '
                               f'{HALF_WINDOW_S} s of any episode time; no time profile')
    maxima = []
    for i in range(len(episodes)):
        loo = _fill(grid, center[i], scale[i])
        ok = np.isfinite(times[i]) & np.isfinite(logs[i])
        m, s = Band(*(loo or full), 0.0).profile(times[i][ok])
        maxima.append(float(np.max((logs[i][ok] - m) / s)))
    return Band(*full, conformal_threshold(maxima, alpha, what))


def calibrate_bands(episodes: List[Dict[str, List[float]]], scores: Sequence[str], alpha: float,
                    time_key: str, source: str = 'calibration') -> Dict[str, Band]:
    """{score: Band} at ``alpha / len(scores)`` each, from episodes {score: values, time_key:
    episode times}."""
    if not scores:
        raise CalibrationError(f'{source}: no scores to calibrate')
    share = alpha / len(scores)
    return {s: calibrate_band([(e[time_key], e[s]) for e in episodes if s in e], share,
                              f'{source}: {s}') for s in scores}
