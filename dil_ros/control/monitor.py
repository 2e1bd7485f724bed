"""The policy node's run-time monitor without ROS: scores per chunk, thresholds, alarm, hold.

``attach_monitor`` loads ``policy.monitor.ts`` (and ``policy.monitor.json`` when calibrated)
next to policy.ts, bound to it by sha256, and wraps the policy callable so that every chunk is
scored right after it is sampled, on the inference thread, before the controller sees it
(``ScoredPolicy``). ``RuntimeMonitor.on_chunk`` adds the chunk-consistency score, compares each
score with its threshold and says whether to alarm, and which score tripped. With ``on_alarm:
hold`` the node hands the message to ``PolicyController.fault('monitor', ...)``: the controller
holds as it does for a fault or the e-stop (same ``hold_reason`` path, level ERROR, hold at the
last command) and stays latched until ``~/reset``; the chunk that tripped is never executed.

When policy.monitor.json holds time-varying bands (``dil-ros calibrate --rule time-varying``,
monitor/band.py), a banded score's threshold is the band's value at the chunk's episode time: its
stamp minus the stamp of the first chunk after the monitor's reset (configure, ``~/reset``, or
``~/enable`` turning the node on).

Every form of the policy supports the monitor: the scorer is its own fp32 TorchScript file and
scores the chunk the chosen form returned (torchscript, cuda_graph, fp16, bf16, aot alike).
"""
from dataclasses import dataclass, field
import json
import math
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from dil_ros.monitor.consistency import chunk_disagreement
from dil_ros.monitor.scores import SCORE_NAMES
from dil_ros.monitor.sibling import ALL_SCORES, CONSISTENCY, MonitorError

ON_ALARM = ('warn', 'hold')


class ScoredPolicy:
    """``policy(batch, noise)`` that also scores the chunk it returns; ``take()`` hands the
    latest scores ({name: value}, seconds spent scoring) to the caller on the same thread."""

    def __init__(self, policy, scorer, names=SCORE_NAMES):
        self.policy, self.scorer, self.names = policy, scorer, tuple(names)
        self._last: Tuple[Dict[str, float], float] = ({}, 0.0)

    def __call__(self, batch, noise=None):
        import torch
        actions = self.policy(batch, noise)
        t = time.perf_counter()
        with torch.inference_mode():
            values = self.scorer(batch, actions.float())[0].tolist()
        self._last = (dict(zip(self.names, values)), time.perf_counter() - t)
        return actions

    def take(self) -> Tuple[Dict[str, float], float]:
        last, self._last = self._last, ({}, 0.0)
        return last

    def __getattr__(self, name):
        return getattr(self.policy, name)


@dataclass
class Verdict:
    stamp: float
    scores: Dict[str, float]
    thresholds: Dict[str, float]
    tripped: List[str]
    hold: bool
    cost_ms: float
    episode_time: float = 0.0

    @property
    def alarm(self) -> bool:
        return bool(self.tripped)

    @property
    def message(self) -> str:
        parts = [f'{n} {self.scores[n]:.4g} > threshold {self.thresholds[n]:.4g}'
                 for n in self.tripped]
        return 'monitor alarm: ' + '; '.join(parts) + (
            '; holding (call ~/reset)' if self.hold else ' (on_alarm: warn)')

    def to_json(self) -> str:
        def num(v):
            return v if math.isfinite(v) else None
        return json.dumps({'stamp': self.stamp, 'scores': {k: num(v) for k, v in
                                                           self.scores.items()},
                           'thresholds': {k: num(v) for k, v in self.thresholds.items()},
                           'alarm': self.alarm, 'tripped': self.tripped, 'hold': self.hold,
                           'cost_ms': round(self.cost_ms, 3),
                           'episode_time': round(self.episode_time, 4)})


@dataclass
class RuntimeMonitor:
    """Thresholds ({score: value}; a score without one never alarms), the action scale for the
    consistency score, the chunk timeline (dt, To), what to do on an alarm and, optionally,
    time-varying bands ({score: monitor.band.Band}) that replace those scores' thresholds."""

    thresholds: Dict[str, float]
    action_scale: np.ndarray
    dt: float
    n_obs_steps: int
    on_alarm: str = 'warn'
    source: str = ''
    alarms: int = 0
    chunks: int = 0
    last: Optional[Verdict] = None
    bands: Dict[str, Any] = field(default_factory=dict)
    _prev: Optional[Tuple[float, np.ndarray]] = field(default=None, repr=False)
    _t0: Optional[float] = field(default=None, repr=False)

    def __post_init__(self):
        if self.on_alarm not in ON_ALARM:
            raise MonitorError(f'on_alarm: must be one of {ON_ALARM}, got {self.on_alarm!r}')
        unknown = sorted((set(self.thresholds) | set(self.bands)) - set(ALL_SCORES))
        if unknown:
            raise MonitorError(f'thresholds: unknown scores {unknown} (known: {ALL_SCORES})')

    def reset(self) -> None:
        """A new episode (configure, ~/reset, ~/enable on): no previous chunk to compare with."""
        self._prev = None
        self._t0 = None
        self.last = None

    def thresholds_at(self, episode_time: float) -> Dict[str, float]:
        """Each score's threshold at this episode time (a band's value, else the constant)."""
        out = dict(self.thresholds)
        for name, band in self.bands.items():
            out[name] = band.threshold(episode_time)
        return out

    def on_chunk(self, stamp: float, actions, scores: Mapping[str, float],
                 cost_s: float = 0.0) -> Verdict:
        actions = np.asarray(actions, dtype=np.float64)
        prev_stamp, prev = self._prev if self._prev is not None else (None, None)
        t = time.perf_counter()
        values = dict(scores)
        values[CONSISTENCY] = chunk_disagreement(prev_stamp, prev, stamp, actions, self.dt,
                                                 self.n_obs_steps, self.action_scale)
        cost_s += time.perf_counter() - t
        self._prev = (stamp, actions)
        if self._t0 is None:
            self._t0 = stamp
        episode_time = stamp - self._t0
        limits = self.thresholds_at(episode_time)
        tripped = [n for n in ALL_SCORES if n in limits and n in values
                   and math.isfinite(values[n]) and values[n] > limits[n]]
        self.chunks += 1
        self.alarms += bool(tripped)
        self.last = Verdict(stamp, values, limits, tripped, self.on_alarm == 'hold',
                            cost_s * 1e3, episode_time)
        return self.last

    def status(self) -> Tuple[int, str, Dict[str, str]]:
        """(level, summary, key values) for the /diagnostics entry 'policy_node: monitor'."""
        last = self.last
        level = 0 if last is None or not last.alarm else (2 if last.hold else 1)
        summary = 'no chunk scored yet' if last is None else (
            last.message if last.alarm else 'expert-like')
        values = {'on_alarm': self.on_alarm, 'calibration': self.source or 'none (scores only)',
                  'chunks scored': str(self.chunks), 'alarms': str(self.alarms)}
        for name in ALL_SCORES:
            value = last.scores.get(name, float('nan')) if last else float('nan')
            limit = (last.thresholds if last else self.thresholds).get(name)
            values[name] = f'{value:.4g}' + (f' (threshold {limit:.4g})' if limit is not None
                                             else ' (no threshold)')
        values['scoring cost [ms]'] = f'{last.cost_ms:.2f}' if last else 'nan'
        return level, summary, values


def attach_monitor(policy, policy_path: str, on_alarm: str, device: str, dt: float,
                   n_obs_steps: int) -> Tuple[ScoredPolicy, RuntimeMonitor, str]:
    """(wrapped policy, monitor, log line) for a loaded policy form; MonitorError naming the
    file when policy.monitor.ts is missing or made from another policy.ts. Without
    policy.monitor.json the scores are published but never alarm."""
    from dil_ros.monitor.sibling import load_monitor, read_thresholds, thresholds_path
    scorer, meta = load_monitor(policy_path, str(device), policy.policy_sha256 or None)
    try:
        data: Dict[str, Any] = read_thresholds(policy_path, policy.policy_sha256 or None)
        thresholds, source = data['thresholds'], str(thresholds_path(policy_path))
        bands = data.get('bands', {})
        why = (f'{"time-varying " if bands else ""}thresholds from {source} (alpha '
               f'{data["calibration"].get("alpha")}, {data["calibration"].get("episodes")} '
               f'episodes)')
    except MonitorError as exc:
        if 'no thresholds' not in str(exc):
            raise
        thresholds, bands, source, why = {}, {}, '', 'not calibrated: scores only, no alarms'
    monitor = RuntimeMonitor(thresholds, np.asarray(meta['monitor']['action_scale']), dt,
                             n_obs_steps, on_alarm, source, bands=bands)
    names = meta['monitor'].get('scores', SCORE_NAMES)
    return ScoredPolicy(policy, scorer, names), monitor, f'monitor on ({on_alarm}): {why}'
