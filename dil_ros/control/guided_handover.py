"""What the guided sampler must agree with (``handover: guided``): prefix and weights per request.

When the node starts an inference at ``now`` from observations stamped ``t0``, the new chunk's
action ``i`` falls at ``t0 + (i - (To - 1)) * dt`` and the chunk arrives at about
``now + latency`` (the latency estimate already holds the measured delay). Along the new chunk::

    times:     past ... | executes before arrival |  rest of the old chunk | beyond it
    weight:    1          1 (frozen)                 1 (held), then soft     0
    target:    the command the chunk in force gives at each time (hand-over offset included)

Why hold the whole overlap (``hold_s`` inf, the default) rather than Real-Time Chunking's decay
(``hold_s`` 0: ``w = c (e^c - 1) / (e - 1)``, c from 1 at arrival to 0 where the chunk in force
ends): with 300 ms of delay the next request leaves about 0.1 s after a chunk arrives, before
the arm has moved enough for the observation to show which way round the pillar it is going. The
decayed part of the overlap is where the way is chosen, so a new chunk re-drew it and chose the
other way about half the time, and the arm, between two plans, clipped the pillar (the
bench_handover.py failures at 300 ms: all of them such switches). Held, each chunk keeps the
way the one in force took, and only its tail beyond that chunk is planned afresh (96 % vs 80 % at
300 ms; at 0 ms within noise of RTC, at more jerk). ``hold_below_s`` holds only while the chunk in
force has run briefly (RTC's decay otherwise): a measured loser, kept for the benchmark.
The sampler (dil_ros/policy/guided.py) inpaints with these; the scheduler then hands over as
``crossfade`` does (the offset left to fade is then ~0).
"""
from typing import Optional, Tuple

import numpy as np

from dil_ros.control.scheduler import ChunkScheduler

# policy_node forms whose policy takes the prefix: the scripted policy.ts and its fp16/bf16 forms
# (aot, cuda_graph and onnx trace the plain call only)
GUIDED_FORMS = ('torchscript', 'fp16', 'bf16')
# policy_node's guided_prefix: its name -> hold_s of plan_guide
GUIDED_PREFIXES = {'hold': float('inf'), 'decay': 0.0}


def soft_mask(c: np.ndarray) -> np.ndarray:
    """RTC's decay ``c (e^c - 1) / (e - 1)`` for c in [0, 1] (1 -> 1, 0 -> 0)."""
    c = np.clip(c, 0.0, 1.0)
    return c * np.expm1(c) / np.expm1(1.0)


def plan_guide(scheduler: ChunkScheduler, t0: float, dt: float, n_obs_steps: int, horizon: int,
               arrival: float, hold_s: float = float('inf'), soft_s: Optional[float] = None,
               hold_below_s: float = float('inf')) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(prefix [Tp, Da], weight [Tp]) for a chunk predicted from observations stamped ``t0``
    and expected at ``arrival``; None when no chunk is in force (nothing to agree with).

    Weight 1 up to ``arrival + hold_s`` (inf: the whole overlap; 0: RTC), then RTC's decay over
    ``soft_s`` (None: to where the chunk in force ends; 0: none), then 0. The hold applies only
    while the chunk in force had run less than ``hold_below_s`` when the observations were taken
    (``t0 - arrival`` of that chunk); after longer, they show its way and RTC's decay is used."""
    chunk = scheduler.newest
    if chunk is None:
        return None
    if t0 - chunk.arrival >= hold_below_s:
        hold_s = 0.0
    times = t0 + (np.arange(horizon) - (n_obs_steps - 1)) * dt
    end = chunk.end
    hold = arrival + max(hold_s, 0.0)
    soft_end = end if soft_s is None else min(end, hold + max(soft_s, 0.0))
    prefix = np.empty((horizon, chunk.actions.shape[1]))
    weight = np.zeros(horizon)
    last = None
    for i, t in enumerate(times):
        value = scheduler.evaluate(float(t)) if t <= end + 1e-9 else None
        if value is None:
            prefix[i] = last if last is not None else chunk.actions[-1]
            continue
        prefix[i] = last = value
        if t <= hold + 1e-9:
            weight[i] = 1.0
        elif t < soft_end - 1e-9:
            weight[i] = soft_mask(np.array((soft_end - t) / max(soft_end - hold, 1e-9)))
    return prefix, weight
