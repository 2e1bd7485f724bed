"""The position target teleop sends, kept safe against the arm it drives.

A position controller moves the arm towards the target as fast as the gap between them allows
(the MuJoCo arm's servo: about 12 rad/s per rad of gap). So the target must stay close to the arm:

* it starts from the *measured* position (``anchor``) at every dead-man press, after every reset of
  the robot, and whenever the arm is found far from the target (it was moved under us);
* it moves at most ``max_velocity * dt`` per tick (the contract's limits);
* it never leads the measured position by more than ``max_lead`` (rad): a joint stopped by an
  obstacle keeps its target ``max_lead`` ahead, so it cannot lunge when freed;
* it stays within the contract's ``lower`` / ``upper``.
"""
from typing import Optional, Sequence

import numpy as np

from dil_ros.errors import DilRosError


class TeleopConfigError(DilRosError, ValueError):
    """A teleop parameter that cannot work; the message names it."""


class PositionGuard:
    """Integrates joint velocities into a bounded position target (arrays in action order)."""

    def __init__(self, lower: Sequence[float], upper: Sequence[float],
                 max_velocity: Sequence[float], max_lead: float):
        if max_lead <= 0:
            raise TeleopConfigError(f'max_lead: must be > 0 rad, got {max_lead}')
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.max_velocity = np.asarray(max_velocity, dtype=float)
        self.max_lead = float(max_lead)
        self.target: Optional[np.ndarray] = None

    def anchor(self, measured: Sequence[float]) -> np.ndarray:
        """Restart from the measured position (clipped to the limits)."""
        self.target = np.clip(np.asarray(measured, dtype=float), self.lower, self.upper)
        return self.target.copy()

    def drifted(self, measured: Sequence[float]) -> bool:
        """True when the arm is further from the target than the lead allows (reset, pushed)."""
        if self.target is None:
            return True
        gap = np.abs(np.asarray(measured, dtype=float) - self.target)
        return bool(np.any(gap > 2 * self.max_lead))

    def step(self, velocity: Sequence[float], dt: float,
             measured: Sequence[float]) -> np.ndarray:
        """The next target: ``velocity`` (clipped to max_velocity) for ``dt`` s, lead bounded."""
        measured = np.asarray(measured, dtype=float)
        if self.target is None or self.drifted(measured):
            return self.anchor(measured)
        vel = np.clip(np.asarray(velocity, dtype=float), -self.max_velocity, self.max_velocity)
        target = self.target + vel * dt
        # Never further ahead of the arm than max_lead; never moving back faster than allowed.
        target = np.clip(target, measured - self.max_lead, measured + self.max_lead)
        step = np.clip(target - self.target, -self.max_velocity * dt, self.max_velocity * dt)
        self.target = np.clip(self.target + step, self.lower, self.upper)
        return self.target.copy()
