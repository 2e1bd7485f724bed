"""What goes wrong on real robots, injected into one sim episode (sim_node parameters).

``Perturber(kind, at_s, magnitude)`` is armed at an episode's reset and starts ``at_s`` sim
seconds into it; it then stays on until the next reset:

- ``goal``: the goal jumps to ``goal_theta + magnitude`` rad (default 0.5; training goals lie
  within +-0.1 rad of ``goal_theta``) at the same radius; the task is judged on the new goal;
- ``pillar``: the pillar moves ``magnitude`` m (default 0.2) along +y, towards the goal region,
  where the arm is heading (the policy does not observe it). The pillar is a static geom: MuJoCo
  culls contacts with the world body's bounding volume computed at load, so that volume moves
  with it (without, the arm passed through the moved pillar);
- ``joint_bias``: ``magnitude`` rad (default 0.15) added to the reported position of
  ``shoulder_pan`` (a calibration error; the physics is unchanged);
- ``push``: a horizontal force of ``magnitude`` N (default 150) on the forearm, along +y, for
  0.3 s (a bump; the position servos are stiff: 40 N moves a joint 0.03 rad);
- ``camera_blackout``: every camera image is black from then on (``magnitude`` unused).

A negative ``magnitude`` reverses the direction; 0 is the kind's default.

Pure mujoco + numpy; sim_node applies it (before_step, reported_positions, blackout).
"""
from dataclasses import replace
from typing import Optional

import numpy as np

from dil_ros.errors import DilRosError
from dil_ros.sim.task import polar_to_xyz

KINDS = ('', 'goal', 'pillar', 'joint_bias', 'push', 'camera_blackout')
DEFAULT_MAGNITUDE = {'goal': 0.5, 'pillar': 0.2, 'joint_bias': 0.15, 'push': 150.0,
                     'camera_blackout': 0.0}
PUSH_S = 0.3
BIAS_JOINT = 0


class PerturbationError(DilRosError, ValueError):
    """An unknown perturbation kind or a bad time (the message names the parameter)."""


class Perturber:
    def __init__(self, kind: str = '', at_s: float = 1.0, magnitude: float = 0.0):
        if kind not in KINDS:
            raise PerturbationError(f'perturbation: must be one of {KINDS}, got {kind!r}')
        if not at_s >= 0.0:
            raise PerturbationError(f'perturb_time: must be >= 0 s, got {at_s!r}')
        self.kind, self.at_s = kind, float(at_s)
        self.magnitude = float(magnitude) if magnitude else DEFAULT_MAGNITUDE.get(kind, 0.0)
        self.onset: Optional[float] = None      # sim clock when it started
        self._pillar0: Optional[np.ndarray] = None
        self._bvh0: Optional[np.ndarray] = None
        self._sim = None

    def arm(self, sim) -> None:
        """At an episode's reset (after ``sim.reset``): undo the last episode's pillar move."""
        self.restore(sim)
        self.onset = None
        self._sim = sim

    def restore(self, sim) -> None:
        if self._pillar0 is not None:
            sim.model.geom_pos[sim._obstacle] = self._pillar0
            self._pillar0 = None
            sim.model.bvh_aabb[self._bvh_nodes(sim)] = self._bvh0
        sim.data.xfrc_applied[:] = 0.0

    @property
    def active(self) -> bool:
        return self.onset is not None

    def before_step(self, sim) -> None:
        """Start at ``at_s``; keep the push on for PUSH_S."""
        if not self.kind or sim.done:
            if self.kind == 'push':
                sim.data.xfrc_applied[:] = 0.0
            return
        if self.onset is None and sim.episode_time >= self.at_s:
            self.onset = sim.clock
            self._start(sim)
        if self.kind == 'push' and self.onset is not None:
            body = sim.model.site_bodyid[sim._ee]
            on = sim.clock - self.onset < PUSH_S
            sim.data.xfrc_applied[body, :3] = (0.0, self.magnitude if on else 0.0, 0.0)

    def _start(self, sim) -> None:
        if self.kind == 'goal':
            task = sim.task
            r = float(np.hypot(*sim.episode.goal[:2]))
            theta = float(np.arctan2(sim.episode.goal[1], sim.episode.goal[0]))
            goal = polar_to_xyz(theta + self.magnitude, r, task.tip_height)
            sim.episode = replace(sim.episode, goal=tuple(float(v) for v in goal))
            sim.model.site_pos[sim._goal_site] = goal
        elif self.kind == 'pillar':
            shift = np.array((0.0, self.magnitude, 0.0))
            self._pillar0 = sim.model.geom_pos[sim._obstacle].copy()
            sim.model.geom_pos[sim._obstacle] = self._pillar0 + shift
            nodes = self._bvh_nodes(sim)
            self._bvh0 = sim.model.bvh_aabb[nodes].copy()
            # the pillar's body's bounding boxes (centre, half size) cover the old and new place
            lo = np.minimum(self._bvh0[:, :3] - self._bvh0[:, 3:],
                            self._bvh0[:, :3] - self._bvh0[:, 3:] + shift)
            hi = np.maximum(self._bvh0[:, :3] + self._bvh0[:, 3:],
                            self._bvh0[:, :3] + self._bvh0[:, 3:] + shift)
            sim.model.bvh_aabb[nodes] = np.concatenate([(lo + hi) / 2, (hi - lo) / 2], axis=1)

    @staticmethod
    def _bvh_nodes(sim) -> slice:
        body = sim.model.geom_bodyid[sim._obstacle]
        adr = sim.model.body_bvhadr[body]
        return slice(adr, adr + max(sim.model.body_bvhnum[body], 0))

    def reported_positions(self, positions: np.ndarray) -> np.ndarray:
        if self.kind == 'joint_bias' and self.onset is not None:
            positions = np.array(positions, dtype=float)
            positions[BIAS_JOINT] += self.magnitude
        return positions

    @property
    def blackout(self) -> bool:
        return self.kind == 'camera_blackout' and self.onset is not None
