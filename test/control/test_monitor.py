"""RuntimeMonitor: the consistency score, which score trips, warn vs hold, reset, diagnostics."""
import json

import numpy as np
import pytest

from dil_ros.control.monitor import RuntimeMonitor
from dil_ros.monitor.sibling import MonitorError

DT, TO = 0.1, 2


def chunk(offset=0.0):
    return np.zeros((16, 3)) + offset


def make(**kw):
    args = dict(thresholds={'denoise': 0.5, 'consistency': 0.2}, action_scale=np.ones(3),
                dt=DT, n_obs_steps=TO, on_alarm='hold')
    args.update(kw)
    return RuntimeMonitor(**args)


def test_scores_under_their_thresholds_do_not_alarm():
    m = make()
    v = m.on_chunk(1.0, chunk(), {'denoise': 0.1, 'novelty': 9.0})   # novelty: no threshold
    assert not v.alarm and np.isnan(v.scores['consistency'])
    v = m.on_chunk(1.8, chunk(0.1), {'denoise': 0.1, 'novelty': 9.0})
    assert not v.alarm and abs(v.scores['consistency'] - 0.1) < 1e-9
    assert m.status()[0] == 0


def test_the_tripped_score_is_named_and_hold_says_so():
    m = make()
    m.on_chunk(1.0, chunk(), {'denoise': 0.1})
    v = m.on_chunk(1.8, chunk(0.5), {'denoise': 0.7})
    assert v.tripped == ['denoise', 'consistency'] and v.hold
    assert v.message.startswith('monitor alarm: denoise 0.7 > threshold 0.5; consistency 0.5 >')
    assert v.message.endswith('holding (call ~/reset)')
    record = json.loads(v.to_json())
    assert record['alarm'] and record['tripped'] == ['denoise', 'consistency']
    level, summary, values = m.status()
    assert level == 2 and 'denoise' in summary and values['alarms'] == '1'
    assert values['denoise'] == '0.7 (threshold 0.5)'


def test_warn_mode_and_reset_forgets_the_previous_chunk():
    m = make(on_alarm='warn')
    m.on_chunk(1.0, chunk(), {'denoise': 0.1})
    v = m.on_chunk(1.8, chunk(0.5), {'denoise': 0.1})
    assert v.tripped == ['consistency'] and not v.hold and v.message.endswith('(on_alarm: warn)')
    assert m.status()[0] == 1
    m.reset()
    assert not m.on_chunk(5.0, chunk(3.0), {'denoise': 0.1}).alarm   # new episode: no compare


def test_bad_configuration_is_refused():
    with pytest.raises(MonitorError, match='on_alarm'):
        make(on_alarm='stop')
    with pytest.raises(MonitorError, match='unknown scores'):
        make(thresholds={'loss': 1.0})


def test_a_band_replaces_the_constant_threshold_over_episode_time():
    from dil_ros.monitor.band import Band
    band = Band(np.array([0.0, 1.0]), np.log([0.5, 0.05]), np.array([0.1, 0.1]), 2.0)
    m = make(bands={'denoise': band})
    v = m.on_chunk(10.0, chunk(), {'denoise': 0.4})           # episode time 0: limit ~0.61
    assert not v.alarm and v.thresholds['denoise'] == pytest.approx(0.5 * np.exp(0.2))
    v = m.on_chunk(11.5, chunk(), {'denoise': 0.1})           # 1.5 s: limit ~0.061
    assert v.tripped == ['denoise'] and v.episode_time == pytest.approx(1.5)
    assert json.loads(v.to_json())['episode_time'] == pytest.approx(1.5)
    assert m.status()[2]['denoise'].startswith('0.1 (threshold 0.06107')
    m.reset()                                                  # a new episode starts at 0 again
    assert not m.on_chunk(20.0, chunk(), {'denoise': 0.4}).alarm
