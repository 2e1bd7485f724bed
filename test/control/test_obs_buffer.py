import numpy as np
import pytest

from dil_ros.control.obs_buffer import ObservationBuffer


def ns(t):
    return round(t * 1e9)


def make():
    return ObservationBuffer({'observation.state': 2, 'observation.goal': 1},
                             stamped=['observation.state'])


def test_samples_on_the_policy_grid_ending_at_the_newest_stamp():
    buf = make()
    for i in range(11):
        assert buf.add('observation.state', ns(1.0 + 0.01 * i), [i, -i]) is None
    buf.add('observation.goal', ns(0.5), [7.0])
    obs, t_end = buf.sample(2, 20.0)
    assert t_end == pytest.approx(1.1)
    np.testing.assert_allclose(obs['observation.state'], [[5, -5], [10, -10]], atol=1e-6)
    np.testing.assert_allclose(obs['observation.goal'], [[7.0], [7.0]])


def test_repeats_the_oldest_before_history_starts():
    buf = make()
    buf.add('observation.state', ns(1.0), [1, 1])
    buf.add('observation.goal', ns(1.0), [0])
    obs, _ = buf.sample(3, 10.0)
    np.testing.assert_allclose(obs['observation.state'], np.ones((3, 2)))


def test_out_of_order_and_duplicate_stamps_are_dropped():
    buf = make()
    assert buf.add('observation.state', ns(2.0), [0, 0]) is None
    why = buf.add('observation.state', ns(1.5), [9, 9])
    assert 'out-of-order' in why
    assert 'out-of-order' in buf.add('observation.state', ns(2.0), [9, 9])
    np.testing.assert_allclose(buf.latest('observation.state'), [0, 0])


def test_headerless_keys_accept_equal_receive_times():
    buf = make()
    assert buf.add('observation.goal', ns(1.0), [1]) is None
    assert buf.add('observation.goal', ns(1.0), [2]) is None
    np.testing.assert_allclose(buf.latest('observation.goal'), [2])


def test_non_finite_and_wrong_size_values_are_rejected():
    buf = make()
    assert 'non-finite' in buf.add('observation.state', ns(1.0), [np.nan, 0])
    assert 'expected 2 values' in buf.add('observation.state', ns(1.0), [0, 0, 0])
    assert buf.latest('observation.state') is None


def test_not_ready_until_every_key_has_a_value():
    buf = make()
    buf.add('observation.state', ns(1.0), [0, 0])
    assert not buf.ready()
    with pytest.raises(LookupError, match='observation.goal'):
        buf.sample(2, 10.0)
    assert buf.newest_stamp() == 1.0
