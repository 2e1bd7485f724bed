"""A chunk that has ended before it arrives (inference slower than the chunk's horizon, on a
loaded machine) is dropped; it used to raise in the hand-over and end the inference thread."""
import numpy as np

from dil_ros.control.scheduler import ActionChunk, ChunkScheduler


def test_chunk_ended_before_arrival_is_dropped_not_raised():
    sched = ChunkScheduler(8, 'crossfade', fade_s=0.2)
    first = ActionChunk(10.0, 0.1, np.zeros((16, 3)), 2)
    sched.add(first, 10.05, np.zeros(3))
    late = ActionChunk(10.0, 0.1, np.ones((16, 3)), 2)   # covers 9.9 .. 11.4 s
    dropped = sched.add(late, 12.0, np.zeros(3))
    assert dropped == 8
    assert sched.command(12.0) is None
