"""Scripted expert for the reach-around task: a stand-in for a human teleoperator.

Each episode it picks a side at random (inner: between base and pillar; outer: beyond the
pillar), draws a path in the horizontal plane at the task's tip height, solves IK along it and
follows it with a minimum-jerk time law. Per-episode noise: duration, clearance, and a smooth joint
wobble that vanishes at both ends. Pure numpy (no mujoco, no rclpy).
"""

from dataclasses import dataclass
import math
from typing import Optional, Sequence

import numpy as np

from dil_ros.sim.task import fk, ik, polar_to_xyz, ReachAroundTask

INNER = 'inner'
OUTER = 'outer'
SIDES = (INNER, OUTER)


def min_jerk(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x**3 * (10 - 15 * x + 6 * x * x)


@dataclass
class ExpertPlan:
    """A joint-space path sampled densely in path parameter s, followed with min-jerk timing."""

    side: str
    duration: float
    path: np.ndarray          # [N, 3] joint positions at s = linspace(0, 1, N)
    wobble_amp: np.ndarray    # [3]
    wobble_freq: np.ndarray   # [3] Hz
    wobble_phase: np.ndarray  # [3]

    def __call__(self, t: float) -> np.ndarray:
        """Joint position command t seconds after the plan started."""
        s = min_jerk(t / self.duration)
        n = len(self.path) - 1
        k = min(int(s * n), n - 1)
        frac = s * n - k
        q = self.path[k] + frac * (self.path[k + 1] - self.path[k])
        fade = math.sin(math.pi * s)
        return q + fade * self.wobble_amp * np.sin(2 * math.pi * self.wobble_freq * t
                                                   + self.wobble_phase)

    def done(self, t: float) -> bool:
        return t >= self.duration


class ScriptedExpert:
    """Plans one episode at a time; ``rng`` seeds side choice and noise."""

    def __init__(self, task: Optional[ReachAroundTask] = None, seed: Optional[int] = None,
                 duration: Sequence[float] = (2.4, 3.2), clearance: float = 0.22,
                 clearance_noise: float = 0.03, joint_noise: float = 0.015, n_path: int = 200):
        self.task = task or ReachAroundTask()
        self.rng = np.random.default_rng(seed)
        self.duration = tuple(duration)
        self.clearance = clearance
        self.clearance_noise = clearance_noise
        self.joint_noise = joint_noise
        self.n_path = n_path

    def plan(self, q0: Sequence[float], goal: Sequence[float],
             side: Optional[str] = None) -> ExpertPlan:
        """Plan from joint positions q0 to the goal point, passing the pillar on ``side``."""
        rng = self.rng
        side = side or SIDES[int(rng.integers(2))]
        if side not in SIDES:
            raise ValueError(f'side must be one of {SIDES}, got {side!r}')
        task = self.task
        start = fk(q0)
        th0, r0 = math.atan2(start[1], start[0]), math.hypot(start[0], start[1])
        thg, rg = math.atan2(goal[1], goal[0]), math.hypot(goal[0], goal[1])
        z0, zg = float(start[2]), float(goal[2])
        ox, oy = task.obstacle_xy
        th_obs, r_obs = math.atan2(oy, ox), math.hypot(ox, oy)
        clearance = self.clearance + rng.uniform(-1, 1) * self.clearance_noise
        r_pass = r_obs - clearance if side == INNER else r_obs + clearance
        s_star = (th_obs - th0) / (thg - th0) if thg != th0 else 0.5
        s_star = min(max(s_star, 0.2), 0.8)
        bump = (r_pass - (r0 + (rg - r0) * s_star)) / math.sin(math.pi * s_star)
        path = []
        for s in np.linspace(0.0, 1.0, self.n_path):
            th = th0 + (thg - th0) * s
            r = r0 + (rg - r0) * s + bump * math.sin(math.pi * s)
            z = z0 + (zg - z0) * min_jerk(s * 4) if s < 0.25 else zg
            path.append(ik(*polar_to_xyz(th, r, z)))
        path = np.asarray(path)
        path[0] = np.asarray(q0, dtype=float)
        return ExpertPlan(side=side, duration=float(rng.uniform(*self.duration)), path=path,
                          wobble_amp=rng.uniform(0.3, 1.0, 3) * self.joint_noise,
                          wobble_freq=rng.uniform(0.3, 1.0, 3),
                          wobble_phase=rng.uniform(0, 2 * math.pi, 3))
