"""The one sampling rule: zero-order hold or linear, on int64 nanoseconds."""
import numpy as np
import pytest

from dil_ros.sampling import period_offsets_ns, sample_series, window_ns

T0 = 1_733_000_000_000_000_000      # an absolute ROS time, where float seconds lose precision


def test_previous_holds_the_newest_value_at_or_before_each_instant():
    times = T0 + np.array([0, 100, 200])
    values = np.array([[0.0], [1.0], [2.0]])
    at = T0 + np.array([-5, 0, 99, 100, 150, 200, 900])
    out = sample_series(times, values, at, 'previous')
    assert out[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_linear_interpolates_and_holds_the_ends():
    times = T0 + np.array([0, 100, 300])
    values = np.array([[0.0, 10.0], [1.0, 20.0], [3.0, 0.0]])
    at = T0 + np.array([-5, 0, 25, 100, 200, 300, 900])
    out = sample_series(times, values, at, 'linear')
    np.testing.assert_allclose(out[:, 0], [0.0, 0.0, 0.25, 1.0, 2.0, 3.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(out[:, 1], [10.0, 10.0, 12.5, 20.0, 10.0, 0.0, 0.0], atol=1e-12)


def test_nanosecond_exact_at_absolute_times():
    """1 ns apart still orders correctly; float seconds at 1.7e9 s would not (ulp ~ 240 ns)."""
    times = T0 + np.array([0, 1])
    values = np.array([[0.0], [1.0]])
    assert sample_series(times, values, np.array([T0]), 'previous')[0, 0] == 0.0
    assert sample_series(times, values, np.array([T0 + 1]), 'previous')[0, 0] == 1.0
    times = T0 + np.array([0, 1000])
    np.testing.assert_allclose(
        sample_series(times, values, np.array([T0 + 250]), 'linear')[0, 0], 0.25, atol=1e-12)


def test_single_value_and_equal_stamps():
    one = sample_series(np.array([T0]), np.array([[4.0]]), T0 + np.array([-1, 0, 1]), 'linear')
    assert one[:, 0].tolist() == [4.0, 4.0, 4.0]
    times = T0 + np.array([0, 0, 10])
    out = sample_series(times, np.array([[1.0], [2.0], [3.0]]), T0 + np.array([0, 20]), 'linear')
    assert out[:, 0].tolist() == [2.0, 3.0]


def test_unknown_rule_and_empty_series():
    with pytest.raises(ValueError, match='sampling rule must be one of'):
        sample_series(np.array([0]), np.array([[0.0]]), np.array([0]), 'cubic')
    with pytest.raises(ValueError, match='empty series'):
        sample_series(np.zeros(0, np.int64), np.zeros((0, 1)), np.array([0]))


def test_grid_and_window_agree():
    """The converter's grid and the node's window put the same instants on one period."""
    grid = T0 + period_offsets_ns(10, 30.0)
    assert grid.dtype == np.int64 and grid[1] - grid[0] == 33_333_333
    np.testing.assert_array_equal(window_ns(grid[9], 3, 30.0), grid[7:10])


def test_frame_indices_pick_the_previous_frame():
    times = T0 + np.array([0, 33, 66, 100])
    at = T0 + np.array([-5, 0, 32, 33, 99, 500])
    from dil_ros.sampling import frame_indices
    assert frame_indices(times, at).tolist() == [0, 0, 0, 1, 2, 3]
    with pytest.raises(ValueError, match='empty series'):
        frame_indices(np.zeros(0, np.int64), at)
