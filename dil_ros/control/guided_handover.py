"""What the guided sampler must agree with (``handover: guided``): prefix and weights per request.

When the node starts an inference at ``now`` from observations stamped ``t0``, the new chunk's
action ``i`` falls at ``t0 + (i - (To - 1)) * dt`` and the chunk arrives at about
``now + latency`` (the latency estimate already holds the measured delay). Along the new chunk::

    times:     past ... | executes before arrival |  rest of the old chunk | beyond it
    weight:    1          1 (frozen)                 soft, 1 -> 0            0
    target:    the command the chunk in force gives at each time (hand-over offset included)

The soft weight is Real-Time Chunking's exponential mask, ``w = c (e^c - 1) / (e - 1)`` with
``c`` going linearly from 1 at arrival to 0 where the chunk in force ends: the new chunk is pulled
hard toward the plan near the switch and left free where the old plan is about to run out.
The sampler (dil_ros/policy/guided.py) inpaints with these; the scheduler then switches to the
new chunk at once (the frozen actions equal what was commanded, so there is no step to fade).
"""
from typing import Optional, Tuple

import numpy as np

from dil_ros.control.scheduler import ChunkScheduler

# policy_node forms whose policy takes the prefix: the scripted policy.ts and its fp16/bf16 forms
# (aot, cuda_graph and onnx trace the plain call only)
GUIDED_FORMS = ('torchscript', 'fp16', 'bf16')


def soft_mask(c: np.ndarray) -> np.ndarray:
    """RTC's decay ``c (e^c - 1) / (e - 1)`` for c in [0, 1] (1 -> 1, 0 -> 0)."""
    c = np.clip(c, 0.0, 1.0)
    return c * np.expm1(c) / np.expm1(1.0)


def plan_guide(scheduler: ChunkScheduler, t0: float, dt: float, n_obs_steps: int, horizon: int,
               arrival: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(prefix [Tp, Da], weight [Tp]) for a chunk predicted from observations stamped ``t0``
    and expected at ``arrival``; None when no chunk is in force (nothing to agree with)."""
    chunk = scheduler.newest
    if chunk is None:
        return None
    times = t0 + (np.arange(horizon) - (n_obs_steps - 1)) * dt
    end = chunk.end
    prefix = np.empty((horizon, chunk.actions.shape[1]))
    weight = np.zeros(horizon)
    last = None
    for i, t in enumerate(times):
        value = scheduler.evaluate(float(t)) if t <= end + 1e-9 else None
        if value is None:
            prefix[i] = last if last is not None else chunk.actions[-1]
            continue
        prefix[i] = last = value
        if t <= arrival + 1e-9:
            weight[i] = 1.0
        else:
            weight[i] = soft_mask(np.array((end - t) / max(end - arrival, 1e-9)))
    return prefix, weight
