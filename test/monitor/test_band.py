"""Time-varying conformal bands: coverage on synthetic episodes, what they catch, stored bands."""
import numpy as np
import pytest

from dil_ros.monitor.band import Band, calibrate_band
from dil_ros.monitor.conformal import CalibrationError, conformal_threshold


def episode(rng, raise_at=None, factor=1.0):
    """Chunks every 0.4-0.6 s for ~4 s; the nominal score is high at rest (first second) and low
    after, with log-normal noise; ``raise_at``: from then on the score is ``factor`` times higher."""
    t = np.cumsum(np.r_[0.0, rng.uniform(0.4, 0.6, size=8)])
    level = np.where(t < 1.0, 1e-2, 2e-3) * np.exp(0.3 * rng.standard_normal(len(t)))
    if raise_at is not None:
        level = np.where(t >= raise_at, level * factor, level)
    return t, level


def test_a_new_nominal_episode_alarms_at_most_alpha():
    rng = np.random.default_rng(1)
    alpha, alarms = 0.1, []
    for _ in range(60):
        band = calibrate_band([episode(rng) for _ in range(40)], alpha)
        for _ in range(20):
            t, v = episode(rng)
            alarms.append(bool((v > np.array([band.threshold(x) for x in t])).any()))
    assert np.mean(alarms) <= alpha + 0.02, np.mean(alarms)   # 1200 draws: sd ~0.008
    assert np.mean(alarms) >= alpha / 3   # and the band is not needlessly loose


def test_the_band_catches_a_late_raise_below_the_early_peak():
    rng = np.random.default_rng(2)
    calib = [episode(rng) for _ in range(59)]
    band = calibrate_band(calib, 0.05)
    constant = conformal_threshold([v.max() for _, v in calib], 0.05)
    caught = [episode(rng, raise_at=2.0, factor=4.0) for _ in range(50)]
    band_tpr = np.mean([(v > [band.threshold(x) for x in t]).any() for t, v in caught])
    const_tpr = np.mean([(v > constant).any() for t, v in caught])
    assert band_tpr >= 0.9 and const_tpr <= 0.2, (band_tpr, const_tpr)
    assert band.threshold(0.0) > band.threshold(3.0)   # the band follows the nominal level


def test_too_few_episodes_or_chunks_are_refused():
    rng = np.random.default_rng(3)
    with pytest.raises(CalibrationError, match='denoise: 18 calibration episodes cannot give'):
        calibrate_band([episode(rng) for _ in range(18)], 0.05, 'denoise')
    with pytest.raises(CalibrationError, match='x: fewer than 10 chunks'):
        calibrate_band([(np.array([0.0]), np.array([1.0]))] * 5, 0.05, 'x')


def test_band_round_trips_and_bad_bands_name_the_field():
    band = Band(np.array([0.0, 1.0]), np.array([-4.0, -6.0]), np.array([0.5, 0.5]), 3.0)
    again = Band.from_json(band.to_json(), 'f: denoise')
    assert again.threshold(0.5) == pytest.approx(np.exp(-5.0 + 1.5))
    assert again.threshold(9.0) == pytest.approx(np.exp(-6.0 + 1.5))   # held past the end
    with pytest.raises(CalibrationError, match='f: denoise: not a band'):
        Band.from_json({'times': [0.0]}, 'f: denoise')
    with pytest.raises(CalibrationError, match='f: denoise: band needs'):
        Band.from_json(dict(band.to_json(), scale=[0.5, 0.0]), 'f: denoise')
