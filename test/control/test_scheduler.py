import numpy as np
import pytest

from dil_ros.control.scheduler import ActionChunk, ChunkScheduler

DT, TO, TP, TA = 0.1, 2, 16, 8


def ramp_chunk(t0, start, slope=1.0):
    """Positions moving at ``slope`` per second; action To-1 (due at t0) equals ``start``."""
    i = np.arange(TP) - (TO - 1)
    return ActionChunk(t0, DT, (start + slope * i * DT)[:, None], TO)


def test_chunk_places_actions_from_the_newest_observation_and_interpolates():
    c = ramp_chunk(10.0, 0.0)
    assert c.at(10.0)[0] == pytest.approx(0.0)
    assert c.at(10.05)[0] == pytest.approx(0.05)
    assert c.end == pytest.approx(10.0 + (TP - TO) * DT)
    assert c.at(99.0)[0] == pytest.approx(c.actions[-1, 0])


def test_actions_past_while_inference_ran_are_dropped():
    s = ChunkScheduler(TA, 'none')
    assert s.add(ramp_chunk(10.0, 0.0), now=10.25, current=None) == 3
    assert s.command(10.25)[0] == pytest.approx(0.25)
    assert s.dropped_actions == 3


def test_next_inference_is_due_at_the_end_of_the_ta_window():
    s = ChunkScheduler(TA, 'crossfade')
    assert s.next_inference_due() == -np.inf
    s.add(ramp_chunk(10.0, 0.0), 10.0, None)
    assert s.next_inference_due() == pytest.approx(10.8)


def run(s, t_start, t_stop, period=0.01):
    ts = np.arange(t_start, t_stop, period)
    return np.array([s.command(t)[0] for t in ts])


@pytest.mark.parametrize('handover', ['crossfade', 'ensemble'])
def test_handover_cancels_the_stale_observation_offset(handover):
    # An arm lagging its command by 0.15 s: the next chunk starts 0.15 behind what is commanded.
    s = ChunkScheduler(TA, handover, fade_s=0.2)
    s.add(ramp_chunk(0.0, 0.0), 0.0, None)
    before = run(s, 0.0, 0.75)
    s.add(ramp_chunk(0.7, 0.7 - 0.15), 0.75, current=before[-1])
    after = run(s, 0.75, 1.6)
    cmds = np.concatenate([before, after])
    steps = np.diff(cmds)
    in_chunk = np.max(np.abs(np.diff(before)))
    assert np.max(np.abs(steps)) <= in_chunk + 1e-9
    assert np.all(steps >= -1e-9)   # never moves backward


def test_none_handover_jumps_back():
    s = ChunkScheduler(TA, 'none')
    s.add(ramp_chunk(0.0, 0.0), 0.0, None)
    before = run(s, 0.0, 0.75)
    s.add(ramp_chunk(0.7, 0.55), 0.75, current=before[-1])
    assert s.command(0.75)[0] < before[-1] - 0.1


def test_ensemble_fades_out_a_chunk_before_its_coverage_ends():
    s = ChunkScheduler(TA, 'ensemble', fade_s=0.2)
    s.add(ramp_chunk(0.0, 0.0), 0.0, None)
    s.add(ramp_chunk(0.7, 0.9), 0.75, current=s.command(0.75))   # offset 0.2 ahead
    cmds = run(s, 0.75, 2.0)
    assert np.max(np.abs(np.diff(cmds))) < 0.03


def test_first_chunk_starts_from_the_current_position():
    s = ChunkScheduler(TA, 'crossfade', fade_s=0.2)
    s.add(ramp_chunk(0.0, 1.0, slope=0.0), 0.05, current=np.array([0.0]))
    assert s.command(0.05)[0] == pytest.approx(0.0)
    assert s.command(0.15)[0] == pytest.approx(0.5)
    assert s.command(0.3)[0] == pytest.approx(1.0)


def test_exhausted_chunk_gives_none():
    s = ChunkScheduler(TA, 'crossfade')
    s.add(ramp_chunk(0.0, 0.0), 0.0, None)
    assert s.command(5.0) is None
