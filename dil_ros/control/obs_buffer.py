"""Time-indexed observation history, sampled onto the policy grid by the contract's rule."""
from collections import deque
from typing import Deque, Dict, Iterable, List, Optional, Tuple

import numpy as np

from dil_ros.sampling import DEFAULT_RULE, sample_series, window_ns


class ObservationBuffer:
    """One short history of (stamp [int ns], vector) per observation key.

    ``stamped`` keys carry a header stamp: they must arrive in order. Keys of headerless messages
    (e.g. a goal ``geometry_msgs/Point``) are stamped with their receive time; they do not move
    the grid's end (a receive time is not a measurement time), but they go stale like the others
    (``stale_keys``). Sampling uses :func:`dil_ros.sampling.sample_series` with ``rule``, the
    same function and rule the converter used for the training data.
    """

    def __init__(self, dims: Dict[str, int], stamped: Iterable[str], maxlen: int = 256,
                 rule: str = DEFAULT_RULE):
        self.dims = dict(dims)
        self.stamped = set(stamped) & set(dims)
        self.rule = rule
        self._hist: Dict[str, Deque[Tuple[int, np.ndarray]]] = {
            k: deque(maxlen=maxlen) for k in dims}

    def clear(self) -> None:
        for h in self._hist.values():
            h.clear()

    def add(self, key: str, stamp_ns: int, value) -> Optional[str]:
        """Store one observation; return None, or why it was dropped (not stored)."""
        vec = np.asarray(value, dtype=np.float64).reshape(-1)
        if vec.shape[0] != self.dims[key]:
            return f'{key}: expected {self.dims[key]} values, got {vec.shape[0]}'
        if not np.all(np.isfinite(vec)):
            return f'{key}: non-finite value {vec.tolist()}'
        stamp_ns = int(stamp_ns)
        hist = self._hist[key]
        if hist and stamp_ns <= hist[-1][0]:
            if key not in self.stamped:
                stamp_ns = hist[-1][0] + 1
            else:
                return (f'{key}: out-of-order stamp {stamp_ns * 1e-9:.6f} not newer than '
                        f'{hist[-1][0] * 1e-9:.6f}; dropped')
        hist.append((stamp_ns, vec))
        return None

    def ready(self) -> bool:
        return all(self._hist[k] for k in self._hist)

    def missing(self) -> List[str]:
        return [k for k, h in self._hist.items() if not h]

    def newest_ns(self) -> Optional[int]:
        """Grid end: the oldest of the stamped keys' newest stamps (never extrapolate)."""
        keys = self.stamped or set(self._hist)
        stamps = [self._hist[k][-1][0] for k in keys if self._hist[k]]
        if len(stamps) < len(keys):
            return None
        return min(stamps)

    def newest_stamp(self) -> Optional[float]:
        """:meth:`newest_ns` in seconds."""
        t = self.newest_ns()
        return None if t is None else t * 1e-9

    def newest_per_key(self) -> Dict[str, float]:
        """Each key's newest stamp in seconds (keys without an observation left out)."""
        return {k: h[-1][0] * 1e-9 for k, h in self._hist.items() if h}

    def stale_keys(self, now: float, timeout_s: float,
                   max_age_s: Optional[Dict[str, float]] = None) -> List[str]:
        """Keys (stamped or not) whose newest observation is older than ``timeout_s`` at ``now``
        (or than their own bound in ``max_age_s``, the contract's, which may be inf).

        A key with no observation yet is missing, not stale.
        """
        bound = max_age_s or {}
        return [k for k, t in self.newest_per_key().items()
                if now - t > bound.get(k, timeout_s)]

    def latest(self, key: str) -> Optional[np.ndarray]:
        hist = self._hist[key]
        return hist[-1][1] if hist else None

    def sample(self, n_steps: int, rate_hz: float, end_ns: Optional[int] = None
               ) -> Tuple[Dict[str, np.ndarray], float]:
        """``n_steps`` observations per key, 1/rate_hz apart, the last at ``end_ns``.

        ``end_ns`` defaults to the newest stamp (what the node uses). Returns ({key: [To, D]},
        the window's end in seconds). Before the oldest stored sample the oldest is repeated (as
        a fresh start repeats the first frame in training).
        """
        if not self.ready():
            raise LookupError(f'no observation yet for {", ".join(self.missing())}')
        if end_ns is None:
            end_ns = self.newest_ns()
        at = window_ns(end_ns, n_steps, rate_hz)
        out = {}
        for key, hist in self._hist.items():
            ts = np.fromiter((t for t, _ in hist), dtype=np.int64, count=len(hist))
            out[key] = sample_series(ts, np.stack([v for _, v in hist]), at, self.rule)
        return out, end_ns * 1e-9
