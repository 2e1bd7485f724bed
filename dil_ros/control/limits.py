"""Per-joint safety clamps applied to every command."""
from typing import Mapping, Optional, Sequence

import numpy as np

from dil_ros.contract import ContractError


class CommandLimiter:
    """Clip to [lower, upper] and limit the change per second to ``max_velocity``.

    Every joint needs limits (the contract requires them). For velocity outputs (twist) the same
    numbers bound the velocity and its change per second.
    """

    def __init__(self, joints: Sequence[str], limits: Mapping):
        missing = [j for j in joints if j not in limits]
        if missing:
            raise ContractError(f'limits: no limits for commanded joints {missing}')
        self.lower = np.array([limits[j].lower for j in joints], dtype=np.float64)
        self.upper = np.array([limits[j].upper for j in joints], dtype=np.float64)
        self.max_rate = np.array([limits[j].max_velocity for j in joints], dtype=np.float64)

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
