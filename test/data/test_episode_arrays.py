"""Episode arrays: low-dim float32 [T, D], cameras uint8 [T, H, W, 3] (dil_ros.data.episode)."""
import numpy as np
import pytest

from dil_ros.data.episode import Episode, EpisodeError


def episode(frames, key='observation.images.front', length=4):
    return Episode(observations={'observation.state': np.zeros((length, 2)), key: frames},
                   action=np.zeros((length, 2)), timestamps=np.arange(length) * 0.1)


def test_camera_frames_stay_uint8_at_native_size():
    frames = np.random.default_rng(0).integers(0, 256, (4, 6, 8, 3), dtype=np.uint8)
    ep = episode(frames)
    assert ep.observations['observation.images.front'].dtype == np.uint8
    assert ep.observations['observation.images.front'].shape == (4, 6, 8, 3)
    np.testing.assert_array_equal(ep.observations['observation.images.front'], frames)
    assert ep.observations['observation.state'].dtype == np.float32
    assert ep.image_keys == ['observation.images.front']
    assert ep.lowdim_keys == ['observation.state']


@pytest.mark.parametrize('frames, problem', [
    (np.zeros((4, 6, 8, 3), np.float32), 'camera frames must be uint8, got float32'),
    (np.zeros((4, 6, 8), np.uint8), r'expected \[T, H, W, 3\] RGB frames, got shape \(4, 6, 8\)'),
    (np.zeros((4, 6, 8, 1), np.uint8), r'expected .* got shape \(4, 6, 8, 1\)'),
    (np.zeros((3, 6, 8, 3), np.uint8), '3 frames but action has 4'),
])
def test_bad_camera_frames_name_the_key(frames, problem):
    with pytest.raises(EpisodeError, match=rf'^observation.images.front: {problem}'):
        episode(frames)


def test_low_dim_keys_still_need_2d():
    with pytest.raises(EpisodeError, match=r'^observation.other: expected a \[T, D\] array'):
        episode(np.zeros((4, 6, 8, 3), np.uint8), key='observation.other')
