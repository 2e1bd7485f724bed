"""Frames where the recorded action and the measured state disagree: a reset, a teleported or a
blocked joint inside an episode. Training on them teaches the policy to command a jump.

Each action joint is compared with its measured joint (the contract's ``action.state_joints``,
read from the JointState position observation that lists them, ``Contract.measured_action``) on
the same grid frame. The bound
is the contract's ``action.max_state_error`` when given, else what each joint can travel in
:data:`DEFAULT_LAG_S` at its ``max_velocity`` limit: more than that is not the lag of a robot
following its command. ``--max-state-error`` on the command line overrides both. A velocity
action (no measured position for its joints) is not checked.

What happens to an episode with flagged frames (``on_jump``): ``split`` (the default) cuts it
there and keeps the runs of agreeing frames as episodes of their own; ``drop`` leaves the whole
episode out; ``keep`` keeps it whole. Every flagged episode is reported either way.
"""

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from dil_ros.contract import Contract
from dil_ros.data.episode import Episode

DEFAULT_LAG_S = 0.5
ON_JUMP = ('split', 'drop', 'keep')


@dataclass(frozen=True)
class Jumps:
    """The frames (indices into the episode) where some joint is off by more than its bound."""

    frames: np.ndarray            # bool [T]
    worst: Dict[str, Tuple[int, float]]  # joint -> (frame, |action - state|) at its worst
    bounds: Dict[str, float]

    def describe(self, timestamps: np.ndarray) -> str:
        idx = np.flatnonzero(self.frames)
        runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
        spans = ', '.join(f'{timestamps[r[0]]:.1f}-{timestamps[r[-1]]:.1f} s' for r in runs[:5])
        more = f' and {len(runs) - 5} more' if len(runs) > 5 else ''
        joints = ', '.join(f'{j} off by {err:.3f} (bound {self.bounds[j]:.3f}) at '
                           f'{timestamps[f]:.1f} s' for j, (f, err) in self.worst.items())
        return (f'action and measured state disagree in {len(idx)} of {len(self.frames)} frames '
                f'({spans}{more}): {joints}')


def state_error_bounds(contract: Contract, override: Optional[float] = None) -> Dict[str, float]:
    """action joint -> the largest |action - measured state| that is still tracking."""
    bound = override if override is not None else contract.action.max_state_error
    return {j: bound if bound is not None else contract.limits[j].max_velocity * DEFAULT_LAG_S
            for j in contract.action.joints}


def find_jumps(episode: Episode, contract: Contract,
               bounds: Dict[str, float]) -> Optional[Jumps]:
    """The frames of ``episode`` beyond ``bounds``; None when every frame agrees (or the
    action has no measured position to agree with)."""
    measured = contract.measured_action()
    if measured is None:
        return None
    key, columns = measured
    state = episode.observations[key][:, list(columns)].astype(np.float64)
    error = np.abs(episode.action.astype(np.float64) - state)
    limit = np.array([bounds[j] for j in contract.action.joints])
    over = error > limit
    if not over.any():
        return None
    worst = {}
    for i, joint in enumerate(contract.action.joints):
        if over[:, i].any():
            f = int(np.argmax(error[:, i]))
            worst[joint] = (f, float(error[f, i]))
    return Jumps(over.any(axis=1), worst, bounds)


def split_at(episode: Episode, bad: np.ndarray, min_frames: int = 2) -> List[Episode]:
    """The runs of frames not in ``bad``, each at least ``min_frames`` long, as episodes whose
    time restarts at 0; metadata gains ``split_from_frame``."""
    good = np.concatenate([[False], ~bad, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(good) == 1), np.flatnonzero(np.diff(good) == -1)
    out = []
    for lo, hi in zip(starts, ends):
        if hi - lo < min_frames:
            continue
        t = episode.timestamps[lo:hi]
        out.append(replace(
            episode, observations={k: v[lo:hi] for k, v in episode.observations.items()},
            action=episode.action[lo:hi], timestamps=t - t[0],
            metadata={**episode.metadata, 'split_from_frame': int(lo)}))
    return out
