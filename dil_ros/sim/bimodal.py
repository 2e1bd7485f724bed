"""A tiny synthetic bimodal task: a 2-D point robot steers around a disc to reach a goal.

The robot starts near (0, 0); the goal sits near (0, 1) and a disc obstacle of radius
``OBSTACLE_RADIUS`` sits between them. The scripted expert passes the disc on the left or on the
right, chosen at random per demonstration, so the demonstrations have two equally likely modes and
their average (straight up the middle) is a collision. A diffusion policy should reproduce both
modes; an MSE regression policy averages them.

Keys follow LeRobot: ``observation.state`` is the position (2), ``observation.environment_state``
the goal (2), ``action`` the next target position (2). One step is 1 / ``RATE_HZ`` seconds; the
robot moves towards its target at most ``MAX_STEP`` per step.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from dil_ros.contract import Contract, contract_from_mapping

RATE_HZ = 10.0
START = np.array([0.0, 0.0])
GOAL = np.array([0.0, 1.0])
OBSTACLE_CENTER = np.array([0.0, 0.5])
OBSTACLE_RADIUS = 0.2
SIDE_X = 0.40          # lateral x of the expert's waypoints beside the obstacle
SIDE_DY = 0.25         # their y offsets below/above the obstacle's centre
EXPERT_STEP = 0.05     # expert speed per step
MAX_STEP = 0.08        # the robot's speed limit per step
GOAL_TOLERANCE = 0.06
MAX_STEPS = 48         # closed-loop step budget
ARENA = 2.0            # |x|, |y| bound of commanded targets

STATE = 'observation.state'
ENV = 'observation.environment_state'

# Policy callable used by rollouts: observations {key: [B, To, D]} -> actions [B, Tp, 2].
PolicyFn = Callable[[Dict[str, np.ndarray]], np.ndarray]


def bimodal_contract(n_obs_steps: int = 2, horizon: int = 16, n_action_steps: int = 8) -> Contract:
    """The task's contract: which keys/dimensions the policy sees and commands."""
    return contract_from_mapping({
        'name': 'bimodal_2d',
        'rate_hz': RATE_HZ,
        'n_obs_steps': n_obs_steps,
        'horizon': horizon,
        'n_action_steps': n_action_steps,
        'observations': {
            STATE: {'topic': '/point/pose', 'type': 'geometry_msgs/msg/Point',
                    'fields': ['x', 'y']},
            ENV: {'topic': '/task/goal', 'type': 'geometry_msgs/msg/Point', 'fields': ['x', 'y']},
        },
        'action': {'joints': ['x', 'y'], 'controller': 'point_controller'},
        'teleop': {'topic': '/point_controller/commands',
                   'type': 'std_msgs/msg/Float64MultiArray'},
        # The plane the task lives in, and the robot's own speed limit.
        'limits': {axis: {'lower': -ARENA, 'upper': ARENA, 'max_velocity': MAX_STEP * RATE_HZ}
                   for axis in ('x', 'y')},
    }, source='<bimodal_2d>')


def step(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Move towards ``target`` by at most MAX_STEP (positions [..., 2])."""
    delta = target - position
    norm = np.linalg.norm(delta, axis=-1, keepdims=True)
    scale = np.minimum(1.0, MAX_STEP / np.maximum(norm, 1e-9))
    return position + delta * scale


def in_obstacle(points: np.ndarray) -> np.ndarray:
    """True where points [..., 2] lie inside the disc."""
    return np.linalg.norm(points - OBSTACLE_CENTER, axis=-1) < OBSTACLE_RADIUS


def segment_hits_obstacle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the segment a -> b ([..., 2] each) passes through the disc."""
    ab = b - a
    t = np.sum((OBSTACLE_CENTER - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    closest = a + np.clip(t, 0.0, 1.0)[..., None] * ab
    return np.linalg.norm(closest - OBSTACLE_CENTER, axis=-1) < OBSTACLE_RADIUS


def expert_path(start: np.ndarray, goal: np.ndarray, side: int, rng: np.random.Generator
                ) -> np.ndarray:
    """Positions [T, 2] of one demonstration passing the disc on ``side`` (-1 left, +1 right).

    The expert heads diagonally to a point beside the disc's lower half, goes up past it, then
    heads to the goal; waypoints are jittered per demonstration, steps slightly noisy.
    """
    x = side * (SIDE_X + rng.uniform(-0.05, 0.05))
    dy = rng.uniform(-0.05, 0.05)
    waypoints = (np.array([x, OBSTACLE_CENTER[1] - SIDE_DY + dy]),
                 np.array([x, OBSTACLE_CENTER[1] + SIDE_DY + dy]), goal)
    points = [start.copy()]
    for waypoint in waypoints:
        while np.linalg.norm(waypoint - points[-1]) > 1e-6:
            delta = waypoint - points[-1]
            dist = np.linalg.norm(delta)
            nxt = points[-1] + delta * min(1.0, EXPERT_STEP / dist)
            points.append(nxt + (rng.normal(0.0, 0.003, 2) if dist > EXPERT_STEP else 0.0))
    points.extend([goal.copy()] * 4)   # hold at the goal for a moment
    return np.asarray(points)


def sample_start_goal(rng: np.random.Generator):
    start = START + rng.uniform(-0.04, 0.04, 2)
    goal = GOAL + rng.uniform(-0.03, 0.03, 2)
    return start, goal


def make_demonstrations(n: int, seed: int = 0):
    """``n`` expert episodes; each passes left or right of the disc at random (about half each)."""
    from dil_ros.data.episode import Episode
    rng = np.random.default_rng(seed)
    episodes = []
    for i in range(n):
        side = -1 if rng.random() < 0.5 else 1
        start, goal = sample_start_goal(rng)
        path = expert_path(start, goal, side, rng)
        positions = path[:-1]
        targets = path[1:]
        t = np.arange(len(positions)) / RATE_HZ
        episodes.append(Episode(
            observations={STATE: positions.astype(np.float32),
                          ENV: np.repeat(goal[None].astype(np.float32), len(positions), 0)},
            action=targets.astype(np.float32), timestamps=t, task='reach the goal around the disc',
            metadata={'side': 'left' if side < 0 else 'right', 'seed': seed, 'index': i}))
    return episodes


@dataclass
class RolloutResult:
    """Closed-loop trajectories of a batch of episodes."""

    positions: np.ndarray      # [B, T+1, 2]
    success: np.ndarray        # [B] reached the goal and never entered the disc
    collided: np.ndarray       # [B] some step (or segment between steps) entered the disc
    reached: np.ndarray        # [B] ended within GOAL_TOLERANCE of the goal
    side: np.ndarray           # [B] -1 passed left, +1 passed right, 0 neither/undecided

    @property
    def success_rate(self) -> float:
        return float(self.success.mean())

    def summary(self) -> Dict[str, float]:
        return {'success': float(self.success.mean()), 'collided': float(self.collided.mean()),
                'left': float((self.side < 0).mean()), 'right': float((self.side > 0).mean()),
                'reached': float(self.reached.mean())}


def classify_side(positions: np.ndarray) -> np.ndarray:
    """-1/+1 by the sign of x where the path is beside the disc (|y - 0.5| < radius), else 0."""
    beside = np.abs(positions[..., 1] - OBSTACLE_CENTER[1]) < OBSTACLE_RADIUS
    x = np.where(beside, positions[..., 0], 0.0)
    mean_x = x.sum(-1) / np.maximum(beside.sum(-1), 1)
    side = np.sign(mean_x).astype(int)
    side[np.abs(mean_x) < 0.5 * OBSTACLE_RADIUS] = 0
    return side


def rollout(policy_fn: PolicyFn, seed: int = 0, batch: int = 1, n_obs_steps: int = 2,
            n_action_steps: int = 8, max_steps: int = MAX_STEPS,
            start: Optional[np.ndarray] = None) -> RolloutResult:
    """Run ``batch`` closed-loop episodes at once, executing Ta actions of each predicted chunk.

    ``policy_fn`` maps observations {key: [B, To, 2]} to actions [B, Tp, 2]; the executed actions
    are chunk[To-1 : To-1+Ta] (the newest observation's step onwards). Starts and goals are sampled
    with ``seed`` unless ``start`` fixes one start position for the whole batch.
    """
    rng = np.random.default_rng(seed)
    starts, goals = zip(*(sample_start_goal(rng) for _ in range(batch)))
    pos = np.tile(start, (batch, 1)) if start is not None else np.asarray(starts)
    goal = np.asarray(goals)
    history = [pos] * n_obs_steps
    trail = [pos]
    done = np.zeros(batch, bool)
    t = 0
    while t < max_steps and not done.all():
        obs = {STATE: np.stack(history[-n_obs_steps:], 1).astype(np.float32),
               ENV: np.repeat(goal[:, None], n_obs_steps, 1).astype(np.float32)}
        chunk = np.asarray(policy_fn(obs), dtype=np.float64)
        for a in chunk[:, n_obs_steps - 1:n_obs_steps - 1 + n_action_steps].transpose(1, 0, 2):
            pos = np.where(done[:, None], pos, step(pos, a))
            done |= np.linalg.norm(pos - goal, axis=-1) < GOAL_TOLERANCE
            history.append(pos)
            trail.append(pos)
            t += 1
            if t >= max_steps:
                break
    positions = np.stack(trail, 1)
    collided = (in_obstacle(positions).any(-1)
                | segment_hits_obstacle(positions[:, :-1], positions[:, 1:]).any(-1))
    reached = np.linalg.norm(positions[:, -1] - goal, axis=-1) < GOAL_TOLERANCE
    return RolloutResult(positions=positions, success=reached & ~collided, collided=collided,
                         reached=reached, side=classify_side(positions))


def plot_trajectories(results: Dict[str, RolloutResult], path,
                      demos: Optional[List] = None) -> None:
    """Save one panel per policy with its trajectories, the disc and the goal, as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = ([('demonstrations', None)] if demos else []) + list(results.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.4), squeeze=False)
    for ax, (title, res) in zip(axes[0], panels):
        ax.add_patch(plt.Circle(tuple(OBSTACLE_CENTER), OBSTACLE_RADIUS, color='0.6'))
        if res is None:
            for ep in demos:
                xy = ep.observations[STATE]
                ax.plot(xy[:, 0], xy[:, 1], lw=0.8, alpha=0.6)
        else:
            for xy, ok in zip(res.positions, res.success):
                ax.plot(xy[:, 0], xy[:, 1], lw=0.8, alpha=0.6,
                        color='tab:green' if ok else 'tab:red')
            s = res.summary()
            title = (f'{title}: success {s["success"]:.0%}\nleft {s["left"]:.0%} '
                     f'right {s["right"]:.0%} collided {s["collided"]:.0%}')
        ax.plot(*GOAL, marker='*', ms=14, color='gold', mec='k')
        ax.set_title(title, fontsize=9)
        ax.set_xlim(-0.7, 0.7)
        ax.set_ylim(-0.15, 1.2)
        ax.set_aspect('equal')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
