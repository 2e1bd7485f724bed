"""Action chunks on the time line, and the hand-over from one chunk to the next.

A chunk predicted from observations whose newest stamp is ``t0`` places action ``i`` at
``t0 + (i - (To - 1)) * dt`` (Chi et al.: the horizon starts at the oldest observation)::

    obs:      |o|o|
    actions:  |a|a|a|a|a|a|a|a|a|a|...|      Tp
    t:          ^t0 ......................^ t0 + (Tp - To) * dt  (end of coverage)
    execute:    |x|x|x|x|x|x|x|x|           Ta from t0; the next chunk is due by t0 + Ta * dt

The node asks for the command at ``now`` and gets the chunk linearly interpolated between grid
points, so actions whose time passed while inference ran are skipped. Hand-over (``handover``):

- ``none``: switch to the newest chunk at once (may jump).
- ``crossfade``: follow the newest chunk plus an offset that starts at (what was being commanded)
  - (new chunk) and fades linearly to zero over ``fade_s``. This cancels the stale-observation
  offset: a chunk predicted from an arm that lags its command starts behind the command and would
  yank it backward.
- ``ensemble``: temporal ensembling (ACT): exponentially weighted mean of every chunk covering
  ``now`` (older chunks weigh more; weights taper to zero over ``fade_s`` before a chunk's coverage
  ends), with the same fading offset at each arrival so the output is continuous.
- ``guided``: as ``crossfade``, for chunks the sampler inpainted to agree with the chunk in force
  (guided_handover.py plans what they must agree with; the offset left to fade is then ~0).
"""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

HANDOVERS = ('ensemble', 'crossfade', 'none', 'guided')


@dataclass
class ActionChunk:
    t0: float              # stamp of the newest observation it was predicted from
    dt: float              # policy grid spacing
    actions: np.ndarray    # [Tp, Da]
    n_obs_steps: int       # To
    arrival: float = 0.0

    @property
    def start(self) -> float:
        return self.t0

    @property
    def end(self) -> float:
        return self.t0 + (self.actions.shape[0] - self.n_obs_steps) * self.dt

    def times(self) -> np.ndarray:
        return self.t0 + (np.arange(self.actions.shape[0]) - (self.n_obs_steps - 1)) * self.dt

    def covers(self, t: float) -> bool:
        return t <= self.end + 1e-9

    def at(self, t: float) -> np.ndarray:
        """Action due at ``t``, interpolated between grid points (clamped to the chunk)."""
        x = (t - self.t0) / self.dt + (self.n_obs_steps - 1)
        x = min(max(x, self.n_obs_steps - 1), self.actions.shape[0] - 1)
        i = min(int(np.floor(x)), self.actions.shape[0] - 2)
        w = x - i
        return (1.0 - w) * self.actions[i] + w * self.actions[i + 1]


class ChunkScheduler:
    """Holds the chunks being executed and answers "what is due now"."""

    def __init__(self, n_action_steps: int, handover: str = 'crossfade', fade_s: float = 0.2,
                 ensemble_decay: float = 0.01):
        if handover not in HANDOVERS:
            raise ValueError(f'handover must be one of {HANDOVERS}, got {handover!r}')
        self.n_action_steps = n_action_steps
        self.handover = handover
        self.fade_s = max(0.0, fade_s)
        self.ensemble_decay = ensemble_decay
        self.chunks: List[ActionChunk] = []
        self._offset: Optional[np.ndarray] = None
        self._offset_t = 0.0
        self.dropped_actions = 0

    def clear(self) -> None:
        self.chunks.clear()
        self._offset = None

    @property
    def newest(self) -> Optional[ActionChunk]:
        return self.chunks[-1] if self.chunks else None

    def next_inference_due(self) -> float:
        """Time by which the next chunk should be ready (end of the newest chunk's Ta window)."""
        c = self.newest
        return -np.inf if c is None else c.t0 + self.n_action_steps * c.dt

    def add(self, chunk: ActionChunk, now: float, current: Optional[np.ndarray]) -> int:
        """Take over a new chunk at ``now``; ``current`` is what is commanded now (None: nothing).

        Returns how many of its executable actions were already in the past (dropped).
        """
        chunk.arrival = now
        exec_times = chunk.times()[chunk.n_obs_steps - 1:
                                   chunk.n_obs_steps - 1 + self.n_action_steps]
        dropped = int(np.sum(exec_times < now - 1e-9))
        self.dropped_actions += dropped
        before = self.evaluate(now)
        if before is None:
            before = current
        self._prune(now)
        if self.handover == 'ensemble':
            self.chunks.append(chunk)
        else:
            self.chunks = [chunk]
        self._offset = None
        raw = self._raw(now) if self.handover != 'none' and self.fade_s > 0 else None
        if before is not None and raw is not None:   # None: the chunk ended before it arrived
            self._offset = np.asarray(before, dtype=np.float64) - raw
            self._offset_t = now
        return dropped

    def _prune(self, now: float) -> None:
        self.chunks = [c for c in self.chunks if c.covers(now)]

    def _weight(self, c: ActionChunk, rank: int, t: float) -> float:
        w = np.exp(-self.ensemble_decay * rank)
        if self.fade_s > 0:
            w *= min(1.0, max(0.0, (c.end - t) / self.fade_s))
        return w

    def _raw(self, t: float) -> Optional[np.ndarray]:
        live = [c for c in self.chunks if c.covers(t)]
        if not live:
            return None
        if self.handover != 'ensemble' or len(live) == 1:
            return live[-1].at(t)
        weights = np.array([self._weight(c, rank, t) for rank, c in enumerate(live)])
        if weights.sum() <= 1e-12:
            return live[-1].at(t)
        vals = np.stack([c.at(t) for c in live])
        return (weights[:, None] * vals).sum(axis=0) / weights.sum()

    def evaluate(self, t: float) -> Optional[np.ndarray]:
        """Command due at ``t`` (None when no chunk covers it)."""
        raw = self._raw(t)
        if raw is None:
            return None
        if self._offset is not None:
            w = 1.0 - (t - self._offset_t) / self.fade_s
            if w > 0:
                raw = raw + min(w, 1.0) * self._offset
        return raw

    def command(self, now: float) -> Optional[np.ndarray]:
        self._prune(now)
        if self._offset is not None and now - self._offset_t >= self.fade_s:
            self._offset = None
        return self.evaluate(now)
