"""Figures of the demo: tip paths of expert vs policies (both modes visible), latency histogram."""
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np


def tip_paths(joint_paths: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Joint-space paths [T, 3] → end-effector paths [T, 3] via the sim's forward kinematics."""
    from dil_ros.sim.task import fk
    return [np.array([fk(q) for q in path]) for path in joint_paths if len(path)]


def mode_split(joint_paths: Sequence[np.ndarray]) -> Dict[str, int]:
    """How tip paths pass the pillar: 'inner' or 'outer' side, 'through' it, or 'not past' it."""
    from dil_ros.sim.task import ReachAroundTask
    task = ReachAroundTask()
    cx, cy = task.obstacle_xy
    counts = {'inner': 0, 'outer': 0, 'through': 0, 'not past': 0}
    for path in tip_paths(joint_paths):
        crossing = np.nonzero(np.diff(np.sign(path[:, 1] - cy)) > 0)[0]
        if not len(crossing):
            counts['not past'] += 1
            continue
        radius = float(np.hypot(*path[crossing[0], :2]))
        if radius < cx - task.obstacle_radius:
            counts['inner'] += 1
        elif radius > cx + task.obstacle_radius:
            counts['outer'] += 1
        else:
            counts['through'] += 1
    return counts


def plot_paths(groups: Dict[str, Sequence[np.ndarray]], out: Path, title: str) -> Path:
    """One panel per group (expert, diffusion, baseline): tip paths from above, pillar drawn."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from dil_ros.sim.task import ReachAroundTask

    task = ReachAroundTask()
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 4.2), squeeze=False)
    for ax, (name, paths) in zip(axes[0], groups.items()):
        for path in tip_paths(paths):
            ax.plot(path[:, 0], path[:, 1], lw=0.8, alpha=0.6)
            ax.plot(path[-1, 0], path[-1, 1], 'k.', ms=3)
        ax.add_patch(plt.Circle(task.obstacle_xy, task.obstacle_radius, color='tab:red',
                                alpha=0.5, label='pillar'))
        ax.set_title(name)
        ax.set_aspect('equal')
        ax.set_xlim(-0.1, 1.1)
        ax.set_ylim(-0.9, 0.9)
        ax.set_xlabel('x [m]')
    axes[0][0].set_ylabel('y [m]')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_latency(latencies_ms: Dict[str, Sequence[float]], out: Path) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in latencies_ms.items():
        if len(values):
            ax.hist(values, bins=40, alpha=0.6, label=f'{name} (p50 {np.median(values):.1f} ms)')
    ax.set_xlabel('inference latency per chunk [ms] (wall)')
    ax.set_ylabel('chunks')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
