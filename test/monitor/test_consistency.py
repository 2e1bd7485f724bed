"""Chunk consistency: RMS disagreement where a new chunk and the previous one overlap."""
import math

import numpy as np

from dil_ros.monitor.consistency import chunk_disagreement

DT, TO = 0.1, 2


def ramp(stamp, offset=0.0):
    """A chunk following x(t) = t (+ offset) on its own timeline."""
    t = stamp + (np.arange(16) - (TO - 1)) * DT
    return np.stack([t + offset, -t], axis=1)


def test_a_replanned_chunk_on_the_same_path_agrees():
    scale = np.array([1.0, 1.0])
    assert chunk_disagreement(1.0, ramp(1.0), 1.8, ramp(1.8), DT, TO, scale) < 1e-9


def test_a_change_of_mind_is_measured_in_normalised_units():
    scale = np.array([2.0, 1.0])
    # offset 0.1 on joint 0 only: RMS over both joints of (0.1 * 2, 0) = 0.2 / sqrt(2)
    d = chunk_disagreement(1.0, ramp(1.0), 1.8, ramp(1.8, 0.1), DT, TO, scale)
    assert math.isclose(d, 0.2 / math.sqrt(2), rel_tol=1e-6)


def test_no_previous_chunk_or_no_overlap_is_nan():
    scale = np.ones(2)
    assert math.isnan(chunk_disagreement(None, None, 1.0, ramp(1.0), DT, TO, scale))
    assert math.isnan(chunk_disagreement(1.0, ramp(1.0), 5.0, ramp(5.0), DT, TO, scale))
