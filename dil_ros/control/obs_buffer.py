"""Time-indexed observation history, sampled onto the policy grid by the contract's rule."""
from collections import deque
from typing import Deque, Dict, Iterable, List, Optional, Tuple

import numpy as np

from dil_ros.sampling import DEFAULT_RULE, frame_indices, sample_series, window_ns

MAX_FRAMES = 64   # per camera, whatever keep_s says: 64 frames of 640x480 RGB are 59 MB


class ObservationBuffer:
    """One short history of (stamp [int ns], vector) per observation key.

    ``stamped`` keys carry a header stamp: they must arrive in order. Keys of headerless messages
    (e.g. a goal ``geometry_msgs/Point``) are stamped with their receive time; they do not move
    the grid's end (a receive time is not a measurement time), but they go stale like the others
    (``stale_keys``). Sampling uses :func:`dil_ros.sampling.sample_series` with ``rule``, the
    same function and rule the converter used for the training data.

    ``images`` are camera keys: uint8 RGB frames ``[H, W, 3]`` at the camera's own size, which
    must not change until :meth:`clear`. Frames are picked, never blended
    (:func:`dil_ros.sampling.frame_indices`), and only ``keep_s`` behind the newest frame are
    kept (what a window needs; at most :data:`MAX_FRAMES`).
    """

    def __init__(self, dims: Dict[str, int], stamped: Iterable[str], maxlen: int = 256,
                 rule: str = DEFAULT_RULE, images: Iterable[str] = (), keep_s: float = 1.0):
        self.dims = dict(dims)
        self.images = tuple(images)
        self.stamped = set(stamped) & (set(dims) | set(self.images))
        self.rule = rule
        self.keep_ns = int(round(keep_s * 1e9))
        self._hist: Dict[str, Deque[Tuple[int, np.ndarray]]] = {
            k: deque(maxlen=maxlen) for k in dims}
        self._hist.update({k: deque(maxlen=MAX_FRAMES) for k in self.images})
        self._frame_shape: Dict[str, Tuple[int, ...]] = {}

    def clear(self) -> None:
        for h in self._hist.values():
            h.clear()
        self._frame_shape.clear()

    def _check_frame(self, key: str, frame) -> Optional[str]:
        """Why ``frame`` is not a uint8 [H, W, 3] of this camera's size, or None."""
        if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
                and frame.shape[2] == 3):
            what = (f'{frame.dtype} {list(frame.shape)}' if isinstance(frame, np.ndarray)
                    else type(frame).__name__)
            return f'{key}: expected a uint8 [H, W, 3] frame, got {what}'
        first = self._frame_shape.setdefault(key, frame.shape)
        if frame.shape != first:
            return (f'{key}: frame size changed mid-run from {first[1]}x{first[0]} to '
                    f'{frame.shape[1]}x{frame.shape[0]} (width x height); call ~/reset once '
                    'the camera is set up')
        return None

    def add(self, key: str, stamp_ns: int, value) -> Optional[str]:
        """Store one observation; return None, or why it was dropped (not stored)."""
        if key in self.images:
            why = self._check_frame(key, value)
            if why is not None:
                return why
            vec = value
        else:
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
        if key in self.images:   # keep the newest frame at or before the cutoff, and all after
            cutoff = stamp_ns - self.keep_ns
            while len(hist) > 1 and hist[1][0] <= cutoff:
                hist.popleft()
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
        cameras {key: uint8 [To, H, W, 3]}; the window's end in seconds). Before the oldest
        stored sample the oldest is repeated (as a fresh start repeats the first frame in
        training).
        """
        if not self.ready():
            raise LookupError(f'no observation yet for {", ".join(self.missing())}')
        if end_ns is None:
            end_ns = self.newest_ns()
        at = window_ns(end_ns, n_steps, rate_hz)
        out = {}
        for key, hist in self._hist.items():
            ts = np.fromiter((t for t, _ in hist), dtype=np.int64, count=len(hist))
            if key in self.images:
                out[key] = np.stack([hist[i][1] for i in frame_indices(ts, at)])
            else:
                out[key] = sample_series(ts, np.stack([v for _, v in hist]), at, self.rule)
        return out, end_ns * 1e-9
