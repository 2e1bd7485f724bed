"""Per-joint safety clamps applied to every command."""
from typing import Mapping, Optional, Sequence

import numpy as np


class CommandLimiter:
    """Clip to [lower, upper] and limit the change per second to ``max_velocity``.

    Joints without limits pass unclamped. For velocity outputs (twist) the same numbers bound the
    velocity and its change per second.
    """

    def __init__(self, joints: Sequence[str], limits: Mapping):
        n = len(joints)
        self.lower = np.full(n, -np.inf)
        self.upper = np.full(n, np.inf)
        self.max_rate = np.full(n, np.inf)
        for i, j in enumerate(joints):
            lim = limits.get(j)
            if lim is not None:
                self.lower[i], self.upper[i], self.max_rate[i] = (
                    lim.lower, lim.upper, lim.max_velocity)

    def clamp(self, cmd: np.ndarray, prev: Optional[np.ndarray], dt: float) -> np.ndarray:
        out = np.clip(np.asarray(cmd, dtype=np.float64), self.lower, self.upper)
        if prev is not None and dt > 0:
            step = self.max_rate * dt
            out = np.clip(out, prev - step, prev + step)
        return out

    def clamp_sequence(self, points: np.ndarray, prev: Optional[np.ndarray],
                       dts: Sequence[float]) -> np.ndarray:
        """Clamp a trajectory point by point (each step relative to the one before)."""
        out = np.empty_like(np.asarray(points, dtype=np.float64))
        for i, (p, dt) in enumerate(zip(points, dts)):
            out[i] = prev = self.clamp(p, prev, dt)
        return out
