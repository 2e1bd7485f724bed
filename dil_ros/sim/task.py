"""The reach-around-the-pillar task: goal sampling, initial state, success and failure.

Top view (x forward, y left); the arm's base is at the origin, the pillar sits between the start
and the goal region, on the circle the end effector starts on::

            goal (theta ~ +0.9)
              *
                      outer path (r ~ 0.72)
     base o      (#) pillar at (0.5, 0)
                      inner path (r ~ 0.28)
              s
            start (theta ~ -0.9)

The tip must pass the pillar on the inside or the outside; the average of the two (what a
mean-squared regressor learns) runs into it. Success: tip within ``tolerance`` of the goal before
``time_limit`` without touching the pillar. Pure numpy: no mujoco, no rclpy.

This module is the one source of the task's geometry. The MuJoCo model (assets/arm.xml) and the
Gazebo twin (urdf/arm.urdf.xacro) are checked against it (test/sim/test_model_parity.py); the
Gazebo world (sim/gazebo_world.py) is generated from it when gazebo.launch.py starts.
"""

from dataclasses import dataclass
import math
from typing import Dict, Optional, Tuple

import numpy as np

JOINT_NAMES = ('shoulder_pan', 'shoulder_lift', 'elbow')
# The arm (m): a column at the origin up to the shoulder, then two links and a round tip.
SHOULDER_HEIGHT = 0.4
BASE_RADIUS = 0.06
LINK_LENGTHS = (0.5, 0.5)
LINK_RADII = (0.025, 0.02)
TIP_RADIUS = 0.025

RUNNING = 'running'
SUCCESS = 'success'
COLLISION = 'collision'
TIMEOUT = 'timeout'


@dataclass(frozen=True)
class Episode:
    """One sampled episode: seed, goal position (world, m) and initial joint positions (rad)."""

    seed: int
    goal: Tuple[float, float, float]
    q0: Tuple[float, float, float]


@dataclass(frozen=True)
class ReachAroundTask:
    """Geometry and rules of the task (lengths in m, angles in rad, times in s)."""

    tip_height: float = 0.05
    start_theta: float = -0.9
    start_radius: float = 0.5
    goal_theta: float = 0.9
    goal_radius: float = 0.5
    goal_theta_noise: float = 0.1
    goal_radius_noise: float = 0.04
    start_joint_noise: float = 0.02
    obstacle_xy: Tuple[float, float] = (0.5, 0.0)
    obstacle_radius: float = 0.07
    obstacle_height: float = 0.12
    tolerance: float = 0.03
    time_limit: float = 6.0

    @property
    def nominal_goal(self) -> Tuple[float, float, float]:
        """The centre of the goal region (where the models draw the goal marker)."""
        return polar_to_xyz(self.goal_theta, self.goal_radius, self.tip_height)

    @property
    def goal_region_radius(self) -> float:
        """Radius of the disc about ``nominal_goal`` that holds every goal ``sample`` draws.

        Goals fill a polar rectangle (theta +- goal_theta_noise, radius +- goal_radius_noise);
        the distance from its centre is largest at a corner.
        """
        return max(math.hypot(r * math.cos(self.goal_theta_noise) - self.goal_radius,
                              r * math.sin(self.goal_theta_noise))
                   for r in (self.goal_radius - self.goal_radius_noise,
                             self.goal_radius + self.goal_radius_noise))

    def sample(self, seed: int) -> Episode:
        """Same seed, same episode."""
        rng = np.random.default_rng(int(seed))
        theta = self.goal_theta + rng.uniform(-1, 1) * self.goal_theta_noise
        radius = self.goal_radius + rng.uniform(-1, 1) * self.goal_radius_noise
        goal = polar_to_xyz(theta, radius, self.tip_height)
        q0 = np.asarray(ik(*polar_to_xyz(self.start_theta, self.start_radius, self.tip_height)))
        q0 = q0 + rng.uniform(-1, 1, size=3) * self.start_joint_noise
        return Episode(int(seed), tuple(float(v) for v in goal), tuple(float(v) for v in q0))

    def evaluate(self, t: float, tip: np.ndarray, goal: np.ndarray, contact: bool) -> str:
        """Episode state after ``t`` seconds: running, success, collision or timeout."""
        if contact:
            return COLLISION
        if float(np.linalg.norm(np.asarray(tip) - np.asarray(goal))) <= self.tolerance:
            return SUCCESS
        if t >= self.time_limit:
            return TIMEOUT
        return RUNNING


def polar_to_xyz(theta: float, radius: float, z: float) -> Tuple[float, float, float]:
    return (radius * math.cos(theta), radius * math.sin(theta), z)


def fk(q) -> np.ndarray:
    """Tip position of the arm for joint positions q (same kinematics as assets/arm.xml)."""
    pan, lift, elbow = (float(v) for v in q)
    l1, l2 = LINK_LENGTHS
    r = l1 * math.cos(lift) + l2 * math.cos(lift + elbow)
    z = SHOULDER_HEIGHT + l1 * math.sin(lift) + l2 * math.sin(lift + elbow)
    return np.array([r * math.cos(pan), r * math.sin(pan), z])


def ik(x: float, y: float, z: float, elbow_up: bool = True) -> Tuple[float, float, float]:
    """Joint positions that put the tip at (x, y, z); raises ValueError when out of reach."""
    l1, l2 = LINK_LENGTHS
    pan = math.atan2(y, x)
    r = math.hypot(x, y)
    dz = z - SHOULDER_HEIGHT
    c = (r * r + dz * dz - l1 * l1 - l2 * l2) / (2 * l1 * l2)
    if not -1.0 <= c <= 1.0:
        raise ValueError(f'({x:.3f}, {y:.3f}, {z:.3f}) is out of reach')
    elbow = -math.acos(c) if elbow_up else math.acos(c)
    lift = math.atan2(dz, r) - math.atan2(l2 * math.sin(elbow), l1 + l2 * math.cos(elbow))
    return (pan, lift, elbow)


def episode_result(episode: Optional[Episode], index: int, status: str, duration: float,
                   **extra) -> Dict:
    """The JSON-able record the sim publishes when an episode ends."""
    out = {'episode': index, 'seed': episode.seed if episode else None, 'status': status,
           'success': status == SUCCESS, 'duration': round(float(duration), 4),
           'goal': list(episode.goal) if episode else None}
    out.update(extra)
    return out
