"""PolicyController with a camera key: frame windows, and holds naming key and topic."""
import numpy as np
import pytest

from dil_ros.contract import contract_from_mapping
from dil_ros.control.controller import ControlConfig, PolicyController

STATE, CAM, TOPIC = 'observation.state', 'observation.images.front', '/camera/front/image_raw'


@pytest.fixture
def vision(contract):
    mapping = contract.to_mapping()
    mapping['observations'] = {
        STATE: mapping['observations'][STATE],
        CAM: {'topic': TOPIC, 'type': 'sensor_msgs/msg/Image', 'height': 8, 'width': 8},
    }
    return contract_from_mapping(mapping, 'vision.yaml')


@pytest.fixture
def ctl(vision):
    c = PolicyController(vision, ControlConfig(rate_hz=100.0, observation_timeout_s=0.5),
                         stamped_keys=[STATE, CAM])
    c.set_active(True)
    c.set_enabled(True)
    return c


def ns(t):
    return round(t * 1e9)


def frame(value, h=12, w=16):
    return np.full((h, w, 3), value, np.uint8)


def test_request_carries_uint8_frames_at_native_size(ctl, vision):
    tick = ctl.tick(1.0)
    assert tick.holding and CAM in tick.reason and STATE in tick.reason
    for i in range(4):
        ctl.observe(CAM, ns(1.0 + 0.04 * i), frame(i))
    ctl.observe(STATE, ns(1.12), [0.1, 0.2, 0.3])
    tick = ctl.tick(1.13)
    assert not tick.holding, tick.reason
    cams = tick.request.obs[CAM]
    assert cams.dtype == np.uint8 and cams.shape == (vision.n_obs_steps, 12, 16, 3)
    # window ends at 1.12 (both newest stamps); 0.1 s before it is 1.02 -> frame 0
    assert cams[:, 0, 0, 0].tolist() == [0, 3]


def test_stale_camera_holds_naming_key_and_topic(ctl):
    ctl.observe(CAM, ns(1.0), frame(0))
    ctl.observe(STATE, ns(1.0), [0.1, 0.2, 0.3])
    assert not ctl.tick(1.1).holding
    ctl.observe(STATE, ns(1.6), [0.1, 0.2, 0.3])
    tick = ctl.tick(1.6)
    assert tick.holding
    assert tick.reason == (f'stale observations: {CAM} ({TOPIC}): none newer than '
                           'observation_timeout_s 0.5 s')
    np.testing.assert_allclose(tick.command, [0.1, 0.2, 0.3])   # holds where it was


def test_size_change_mid_run_holds_until_reset(ctl):
    ctl.observe(CAM, ns(1.0), frame(0))
    ctl.observe(STATE, ns(1.0), [0.1, 0.2, 0.3])
    assert not ctl.tick(1.0).holding
    level, text = ctl.observe(CAM, ns(1.05), frame(1, h=24, w=32))
    assert level == 'error'
    assert text.startswith(f'{CAM} ({TOPIC}): frame size changed mid-run from 16x12 to 32x24')
    assert ctl.tick(1.06).holding and ctl.tick(1.06).reason == text
    assert ctl.observe(CAM, ns(1.1), frame(2, h=24, w=32)) is None   # logged once
    assert ctl.faults[CAM] == text
    assert ctl.tick(1.1).holding
    ctl.reset()
    assert ctl.observe(CAM, ns(1.2), frame(3, h=24, w=32)) is None
    ctl.observe(STATE, ns(1.2), [0.1, 0.2, 0.3])
    assert not ctl.tick(1.2).holding


def test_history_reaches_one_window_plus_the_allowed_lag(ctl, vision):
    assert ctl.buffer.keep_ns == ns(vision.n_obs_steps * vision.dt + 0.5)
