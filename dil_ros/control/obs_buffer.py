"""Time-indexed observation history, sampled onto the policy grid."""
from collections import deque
from typing import Deque, Dict, Iterable, Optional, Tuple

import numpy as np


class ObservationBuffer:
    """One short history of (stamp, vector) per observation key.

    ``stamped`` keys carry a header stamp: they must arrive in order and stay fresh. Keys of
    headerless messages (e.g. a goal ``geometry_msgs/Point``) are stamped with their receive time,
    are never stale and are held at their latest value.
    """

    def __init__(self, dims: Dict[str, int], stamped: Iterable[str], maxlen: int = 256):
        self.dims = dict(dims)
        self.stamped = set(stamped) & set(dims)
        self._hist: Dict[str, Deque[Tuple[float, np.ndarray]]] = {
            k: deque(maxlen=maxlen) for k in dims}

    def clear(self) -> None:
        for h in self._hist.values():
            h.clear()

    def add(self, key: str, stamp: float, value) -> Optional[str]:
        """Store one observation; return None, or why it was dropped (not stored)."""
        vec = np.asarray(value, dtype=np.float64).reshape(-1)
        if vec.shape[0] != self.dims[key]:
            return f'{key}: expected {self.dims[key]} values, got {vec.shape[0]}'
        if not np.all(np.isfinite(vec)):
            return f'{key}: non-finite value {vec.tolist()}'
        hist = self._hist[key]
        if hist and stamp <= hist[-1][0]:
            if key not in self.stamped:
                stamp = hist[-1][0] + 1e-9
            else:
                return (f'{key}: out-of-order stamp {stamp:.6f} not newer than '
                        f'{hist[-1][0]:.6f}; dropped')
        hist.append((float(stamp), vec))
        return None

    def ready(self) -> bool:
        return all(self._hist[k] for k in self._hist)

    def missing(self):
        return [k for k, h in self._hist.items() if not h]

    def newest_stamp(self) -> Optional[float]:
        """Grid end: the oldest of the stamped keys' newest stamps (never extrapolate)."""
        keys = self.stamped or set(self._hist)
        stamps = [self._hist[k][-1][0] for k in keys if self._hist[k]]
        if len(stamps) < len(keys):
            return None
        return min(stamps)

    def latest(self, key: str) -> Optional[np.ndarray]:
        hist = self._hist[key]
        return hist[-1][1] if hist else None

    def sample(self, n_steps: int, dt: float) -> Tuple[Dict[str, np.ndarray], float]:
        """``n_steps`` observations per key, ``dt`` apart, ending at the newest stamp.

        Returns ({key: [To, D]}, newest stamp).

        Values between stored samples are interpolated linearly; before the oldest sample the
        oldest is repeated (as a fresh start repeats the first frame in training).
        """
        t_end = self.newest_stamp()
        if t_end is None or not self.ready():
            raise LookupError(f'no observation yet for {", ".join(self.missing())}')
        grid = t_end - dt * np.arange(n_steps - 1, -1, -1)
        out = {}
        for key, hist in self._hist.items():
            ts = np.fromiter((t for t, _ in hist), dtype=np.float64, count=len(hist))
            vals = np.stack([v for _, v in hist])
            out[key] = np.stack([np.interp(grid, ts, vals[:, d]) for d in range(vals.shape[1])],
                                axis=1)
        return out, float(t_end)
