"""The MuJoCo arm as ros2_control would drive it: position targets or joint trajectories.

Pure mujoco + numpy (no rclpy); ``dil_ros.nodes.sim_node`` wraps it. Times are seconds of sim time:
``clock`` runs on across episodes (what /clock publishes); ``episode_time`` restarts at each reset.
"""

from importlib import resources
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from dil_ros.errors import DilRosError
from dil_ros.sim.task import (COLLISION, Episode, JOINT_NAMES, ReachAroundTask, RUNNING,
                              SUCCESS, TIMEOUT)

__all__ = ['ArmSim', 'JointTrajectory', 'TrajectoryError', 'default_model_path',
           'RUNNING', 'SUCCESS', 'COLLISION', 'TIMEOUT']


class TrajectoryError(DilRosError, ValueError):
    """A trajectory joint_trajectory_controller would reject (the message says why)."""


def default_model_path() -> Path:
    return Path(str(resources.files('dil_ros.sim') / 'assets' / 'arm.xml'))


class JointTrajectory:
    """Reference trajectory like joint_trajectory_controller builds it.

    Knots are the current reference state at the time the trajectory arrives (``now``), then every
    point at ``start + time_from_start`` (a future ``start`` holds the current state until then).
    Segments are linear when the points carry positions only, cubic Hermite when every point
    carries velocities. A first point at ``start + t0 <= now`` replaces the current state (a step),
    as in JTC. After the last point the reference holds still.
    """

    def __init__(self, now: float, q_now: np.ndarray, v_now: np.ndarray, start: float,
                 times: Sequence[float], positions: np.ndarray,
                 velocities: Optional[np.ndarray] = None):
        times = np.asarray(times, dtype=float) + start
        self.cubic = velocities is not None
        vel = (np.asarray(velocities, dtype=float) if self.cubic
               else np.zeros_like(positions))
        if start > now and times[0] > start:  # a future header.stamp: hold until then
            times = np.concatenate([[start], times])
            positions = np.vstack([q_now, positions])
            vel = np.vstack([np.zeros_like(q_now), vel])
            v_now = np.zeros_like(q_now)
        if times[0] > now:
            times = np.concatenate([[now], times])
            positions = np.vstack([q_now, positions])
            vel = np.vstack([v_now if self.cubic else np.zeros_like(q_now), vel])
        self.times, self.positions, self.velocities = times, positions, vel

    @property
    def end_time(self) -> float:
        return float(self.times[-1])

    def sample(self, t: float):
        """(position, velocity) of the reference at time t."""
        ts, ps, vs = self.times, self.positions, self.velocities
        if t <= ts[0]:
            return ps[0].copy(), (vs[0].copy() if self.cubic else np.zeros_like(ps[0]))
        if t >= ts[-1]:
            return ps[-1].copy(), np.zeros_like(ps[-1])
        i = int(np.searchsorted(ts, t, side='right')) - 1
        h = ts[i + 1] - ts[i]
        s = (t - ts[i]) / h
        p0, p1 = ps[i], ps[i + 1]
        if not self.cubic:
            return p0 + s * (p1 - p0), (p1 - p0) / h
        v0, v1 = vs[i] * h, vs[i + 1] * h
        h00, h10, h01, h11 = (2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2,
                              s**3 - s**2)
        d00, d10, d01, d11 = (6 * s**2 - 6 * s, 3 * s**2 - 4 * s + 1, -6 * s**2 + 6 * s,
                              3 * s**2 - 2 * s)
        pos = h00 * p0 + h10 * v0 + h01 * p1 + h11 * v1
        vel = (d00 * p0 + d10 * v0 + d01 * p1 + d11 * v1) / h
        return pos, vel


def reorder_trajectory(joint_names: Sequence[str], names: Sequence[str], times: Sequence[float],
                       positions: Sequence[Sequence[float]],
                       velocities: Optional[Sequence[Sequence[float]]] = None):
    """Check a trajectory the way JTC does and return (times, positions, velocities) in our order.

    Rejects: empty trajectories, joint names that are not exactly ours (any order), points whose
    position/velocity count differs from the joint count, and non-increasing time_from_start.
    ``velocities`` is None or a list per point (empty lists mean 'not given').
    """
    names = list(names)
    if not names or not len(times):
        raise TrajectoryError('empty trajectory (no joint names or no points)')
    if len(set(names)) != len(names) or set(names) != set(joint_names):
        raise TrajectoryError(f'joint names {names} do not match the controller joints '
                              f'{list(joint_names)}')
    t = np.asarray(times, dtype=float)
    if t[0] < 0 or np.any(np.diff(t) <= 0):
        raise TrajectoryError(f'time_from_start must be >= 0 and strictly increasing, got '
                              f'{[round(v, 4) for v in t.tolist()]}')
    order = [names.index(j) for j in joint_names]
    pos = []
    for i, p in enumerate(positions):
        if len(p) != len(names):
            raise TrajectoryError(f'point {i} has {len(p)} positions for {len(names)} joints')
        pos.append([p[k] for k in order])
    vel = None
    if velocities is not None and all(len(v) for v in velocities):
        vel = []
        for i, v in enumerate(velocities):
            if len(v) != len(names):
                raise TrajectoryError(f'point {i} has {len(v)} velocities for {len(names)} joints')
            vel.append([v[k] for k in order])
        vel = np.asarray(vel, dtype=float)
    return t, np.asarray(pos, dtype=float), vel


class ArmSim:
    """MuJoCo arm + reach-around task. Deterministic: same seed, same episode, same physics."""

    def __init__(self, task: Optional[ReachAroundTask] = None,
                 model_path: Optional[Union[str, Path]] = None):
        import mujoco  # local: mujoco is an optional extra
        self._mj = mujoco
        self.task = task or ReachAroundTask()
        self.model = mujoco.MjModel.from_xml_path(str(model_path or default_model_path()))
        self.data = mujoco.MjData(self.model)
        self.joint_names: List[str] = list(JOINT_NAMES)
        self._qadr = [self.model.joint(j).qposadr[0] for j in self.joint_names]
        self._dadr = [self.model.joint(j).dofadr[0] for j in self.joint_names]
        self.lower = np.array([self.model.joint(j).range[0] for j in self.joint_names])
        self.upper = np.array([self.model.joint(j).range[1] for j in self.joint_names])
        self._obstacle = self.model.geom('obstacle').id
        self._ee = self.model.site('ee').id
        self._goal_site = self.model.site('goal').id
        self.dt = float(self.model.opt.timestep)
        self.clock = 0.0
        self.episode: Optional[Episode] = None
        self.status = RUNNING
        self.contact = False
        self.trajectory: Optional[JointTrajectory] = None
        self.target = np.zeros(3)
        self.reset(0)

    # --- state -----------------------------------------------------------------------------
    @property
    def episode_time(self) -> float:
        return float(self.data.time)

    @property
    def positions(self) -> np.ndarray:
        return self.data.qpos[self._qadr].copy()

    @property
    def velocities(self) -> np.ndarray:
        return self.data.qvel[self._dadr].copy()

    @property
    def tip(self) -> np.ndarray:
        return self.data.site_xpos[self._ee].copy()

    @property
    def goal(self) -> np.ndarray:
        return np.asarray(self.episode.goal)

    @property
    def done(self) -> bool:
        return self.status != RUNNING

    # --- episode ---------------------------------------------------------------------------
    def reset(self, seed: int) -> Episode:
        """Start the episode for ``seed``: goal and initial pose from the task; no commands."""
        mj = self._mj
        self.episode = self.task.sample(seed)
        mj.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = self.episode.q0
        self.target = np.asarray(self.episode.q0, dtype=float)
        self.data.ctrl[:] = self.target
        self.model.site_pos[self._goal_site] = self.episode.goal
        self.trajectory = None
        mj.mj_forward(self.model, self.data)
        self.contact = False
        self.status = RUNNING
        return self.episode

    def set_goal_marker(self, radius: float, rgba: Sequence[float]) -> None:
        """How the goal marker looks (a site: no physics, no task rule depends on it)."""
        self.model.site_size[self._goal_site, 0] = radius
        self.model.site_rgba[self._goal_site] = rgba

    # --- commands (forward_command_controller / joint_trajectory_controller) ----------------
    def command_positions(self, q: Sequence[float]) -> None:
        """Position targets in joint order (like forward_command_controller); ends a trajectory."""
        q = np.asarray(q, dtype=float)
        if q.shape != (3,) or not np.all(np.isfinite(q)):
            raise TrajectoryError(f'expected 3 finite positions, got {q.tolist()}')
        self.trajectory = None
        self.target = np.clip(q, self.lower, self.upper)

    def command_trajectory(self, names: Sequence[str], times: Sequence[float],
                           positions, velocities=None, start: Optional[float] = None) -> None:
        """Replace the active trajectory from now (``start``: clock time; None or 0 = now)."""
        t, pos, vel = reorder_trajectory(self.joint_names, names, times, positions, velocities)
        now = self.clock
        if self.trajectory is not None:
            q_now, v_now = self.trajectory.sample(now)
        else:
            q_now, v_now = self.target.copy(), self.velocities
        self.trajectory = JointTrajectory(now, q_now, v_now, start if start else now, t,
                                          pos, vel)

    # --- stepping --------------------------------------------------------------------------
    def step(self, n: int = 1) -> str:
        """Advance n physics steps; returns the episode status (latched once not running)."""
        mj = self._mj
        for _ in range(n):
            if self.trajectory is not None:
                self.target, _ = self.trajectory.sample(self.clock + self.dt)
            self.data.ctrl[:] = np.clip(self.target, self.lower, self.upper)
            mj.mj_step(self.model, self.data)
            self.clock += self.dt
            if self.status == RUNNING:
                self.contact = self._touching_obstacle()
                self.status = self.task.evaluate(self.episode_time, self.tip, self.goal,
                                                 self.contact)
        return self.status

    def run_for(self, seconds: float) -> str:
        return self.step(max(1, int(round(seconds / self.dt))))

    def _touching_obstacle(self) -> bool:
        d = self.data
        for i in range(d.ncon):
            c = d.contact[i]
            if c.geom1 == self._obstacle or c.geom2 == self._obstacle:
                return True
        return False
