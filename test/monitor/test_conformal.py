"""Split-conformal threshold arithmetic."""
import numpy as np
import pytest

from dil_ros.monitor.conformal import (CalibrationError, conformal_rank, conformal_threshold,
                                       min_episodes, thresholds)


@pytest.mark.parametrize('n, alpha, k', [(19, 0.05, 19), (99, 0.05, 95), (100, 0.05, 96),
                                         (59, 0.05 / 3, 59), (9, 0.1, 9), (50, 0.2, 41)])
def test_rank(n, alpha, k):
    assert conformal_rank(n, alpha) == k


def test_threshold_is_the_kth_smallest_episode_max_ignoring_non_finite():
    values = list(range(100, 0, -1)) + [float('nan'), float('inf')]   # 1..100 shuffled
    assert conformal_threshold(values[:99], 0.05) == 96.0    # n 99 (100 left out): k 95 of 2..100
    assert conformal_threshold(values, 0.05) == 96.0          # non-finite dropped: n 100, k 96


def test_too_few_episodes_name_score_and_need():
    assert min_episodes(0.05) == 19 and min_episodes(0.05 / 3) == 59
    with pytest.raises(CalibrationError, match=r'logs: denoise: 18 calibration episodes '
                                               r'cannot give a false-alarm rate of 0.05; '
                                               r'need at least 19'):
        conformal_threshold(np.arange(18.0), 0.05, 'logs: denoise')
    with pytest.raises(CalibrationError, match='alpha'):
        conformal_rank(10, 1.5)


def test_scores_share_alpha_bonferroni():
    maxima = {'a': np.arange(1.0, 60.0), 'b': np.arange(1.0, 60.0) * 10}
    out = thresholds(maxima, 0.05)
    assert out == {'a': 59.0, 'b': 590.0}   # alpha 0.025 each: k = ceil(60 * 0.975) = 59
    thresholds({'a': np.arange(60.0), 'b': np.arange(39.0)}, 0.05)   # 39 suffice at 0.025
    with pytest.raises(CalibrationError, match='b: 38 calibration episodes'):
        thresholds({'a': np.arange(60.0), 'b': np.arange(38.0)}, 0.05)


def test_false_alarm_rate_holds_on_exchangeable_episodes():
    rng = np.random.default_rng(0)
    alarms = []
    for _ in range(2000):
        calib = rng.gamma(2.0, size=40)
        alarms.append(rng.gamma(2.0) > conformal_threshold(calib, 0.1))
    assert np.mean(alarms) <= 0.1 + 0.02    # guaranteed <= alpha in expectation
