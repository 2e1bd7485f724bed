"""ObservationBuffer with camera keys: frames picked by stamp, short ring, named errors."""
import numpy as np

from dil_ros.control.obs_buffer import MAX_FRAMES, ObservationBuffer

CAM = 'observation.images.front'


def ns(t):
    return round(t * 1e9)


def frame(value, h=4, w=6):
    return np.full((h, w, 3), value, np.uint8)


def make(keep_s=1.0):
    return ObservationBuffer({'observation.state': 2}, stamped=['observation.state', CAM],
                             rule='linear', images=[CAM], keep_s=keep_s)


def test_frames_are_picked_never_blended_even_under_linear():
    buf = make()
    for i in range(10):   # camera at 30 Hz from 1.005 s, state at 100 Hz
        assert buf.add(CAM, ns(1.005 + i / 30), frame(10 * i)) is None
    for i in range(31):
        buf.add('observation.state', ns(1.0 + 0.01 * i), [i, 0])
    obs, t_end = buf.sample(3, 10.0)   # window at 1.1, 1.2, 1.3 (the state's newest)
    assert abs(t_end - 1.3) < 1e-9
    cams = obs[CAM]
    assert cams.dtype == np.uint8 and cams.shape == (3, 4, 6, 3)
    # the newest frame at or before each instant (frame i at 1.005 + i/30): 2, 5, 8
    assert cams[:, 0, 0, 0].tolist() == [20, 50, 80]
    np.testing.assert_allclose(obs['observation.state'][:, 0], [10, 20, 30], atol=1e-6)


def test_grid_end_waits_for_the_camera():
    buf = make()
    buf.add('observation.state', ns(2.0), [0, 0])
    buf.add(CAM, ns(1.9), frame(1))
    assert buf.newest_ns() == ns(1.9)


def test_only_what_a_window_needs_is_kept():
    buf = make(keep_s=0.2)
    for i in range(60):
        buf.add(CAM, ns(i / 30), frame(i))
    stamps = [t for t, _ in buf._hist[CAM]]
    # newest at 59/30 s; the frame at or before the cutoff 59/30 - 0.2 stays (previous rule)
    assert stamps[0] <= ns(59 / 30 - 0.2) < stamps[1]
    assert len(stamps) == 7
    big = make(keep_s=100.0)
    for i in range(200):
        big.add(CAM, ns(i / 30), frame(i % 256))
    assert len(big._hist[CAM]) == MAX_FRAMES


def test_size_change_mid_run_is_refused_until_clear():
    buf = make()
    assert buf.add(CAM, ns(1.0), frame(1)) is None
    why = buf.add(CAM, ns(1.1), frame(2, h=8, w=12))
    assert why.startswith(f'{CAM}: frame size changed mid-run from 6x4 to 12x8')
    assert buf.latest(CAM)[0, 0, 0] == 1
    buf.clear()
    assert buf.add(CAM, ns(1.2), frame(3, h=8, w=12)) is None


def test_a_frame_of_the_wrong_kind_is_named():
    buf = make()
    why = buf.add(CAM, ns(1.0), np.zeros((4, 6, 3), np.float32))
    assert why == f'{CAM}: expected a uint8 [H, W, 3] frame, got float32 [4, 6, 3]'
    assert 'got uint8 [4, 6]' in buf.add(CAM, ns(1.0), np.zeros((4, 6), np.uint8))


def test_stale_camera_is_listed():
    buf = make()
    buf.add('observation.state', ns(5.0), [0, 0])
    buf.add(CAM, ns(4.0), frame(0))
    assert buf.stale_keys(5.1, 0.5) == [CAM]
