"""Cameras as LeRobot v3.0 video features (dil_ros.data.lerobot_video, writer and reader)."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import DatasetError, read_dataset, write_dataset
from dil_ros.data.lerobot_video import VideoFeatureWriter
from dil_ros.data.video import decode_frames

KEY = 'observation.images.front'


def frames(length, shift, height=24, width=32):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([np.stack([(x * 4 + t * 3 + shift) % 256, (y * 5 + shift) % 256,
                               (x + y + t * 2 + shift) % 256], -1)
                     for t in range(length)]).astype(np.uint8)


def camera_episode(length, shift, size=(24, 32)):
    rng = np.random.default_rng(shift)
    return Episode(observations={'observation.state': rng.normal(size=(length, 2)),
                                 KEY: frames(length, shift, *size)},
                   action=rng.normal(size=(length, 2)), timestamps=np.arange(length) / 10.0,
                   task='reach')


@pytest.fixture
def camera_episodes():
    return [camera_episode(5, 0), camera_episode(7, 60), camera_episode(4, 120)]


def test_layout_is_lerobots(tmp_path, camera_episodes):
    root = write_dataset(tmp_path / 'ds', camera_episodes, fps=10)
    info = json.loads((root / 'meta/info.json').read_text())
    assert info['video_path'] == \
        'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4'
    feature = info['features'][KEY]
    assert {k: feature[k] for k in ('dtype', 'shape', 'names')} == \
        {'dtype': 'video', 'shape': [24, 32, 3], 'names': ['height', 'width', 'channels']}
    assert set(feature['info']) == {'video.height', 'video.width', 'video.codec',
                                    'video.pix_fmt', 'video.is_depth_map', 'video.fps',
                                    'video.channels', 'has_audio'}
    assert (feature['info']['video.fps'], feature['info']['video.pix_fmt']) == (10, 'yuv420p')
    assert [p.relative_to(root).as_posix() for p in (root / 'videos').rglob('*.mp4')] == \
        [f'videos/{KEY}/chunk-000/file-000.mp4']
    data = next((root / 'data').rglob('*.parquet'))
    assert KEY not in pq.read_schema(data).names          # frames live in the video only
    rows = pq.read_table(root / 'meta/episodes/chunk-000/file-000.parquet').to_pylist()
    spans = [(r[f'videos/{KEY}/chunk_index'], r[f'videos/{KEY}/file_index'],
              r[f'videos/{KEY}/from_timestamp'], r[f'videos/{KEY}/to_timestamp'])
             for r in rows]
    assert spans == [(0, 0, 0.0, 0.5), (0, 0, 0.5, 1.2), (0, 0, 1.2, 1.6)]
    assert np.asarray(rows[0][f'stats/{KEY}/mean']).shape == (3, 1, 1)
    stats = json.loads((root / 'meta/stats.json').read_text())[KEY]
    assert np.asarray(stats['std']).shape == (3, 1, 1)
    assert 0.0 <= np.min(stats['min']) <= np.max(stats['max']) <= 1.0
    assert decode_frames(root / f'videos/{KEY}/chunk-000/file-000.mp4').shape == (16, 24, 32, 3)


def test_reader_decodes_each_episode_back(tmp_path, camera_episodes):
    root = write_dataset(tmp_path / 'ds', camera_episodes, fps=10)
    ds = read_dataset(root)
    assert ds.image_keys == [KEY] and ds.lowdim_keys == ['observation.state']
    assert ds.obs_dims == {'observation.state': 2}
    assert ds.image_shapes == {KEY: (24, 32, 3)}
    for source, back in zip(camera_episodes, ds.episodes):
        got, want = back.observations[KEY], source.observations[KEY]
        assert got.dtype == np.uint8 and got.shape == want.shape
        assert np.abs(got.astype(int) - want).mean() < 4.0    # lossy AV1: measured ~1.6
        np.testing.assert_array_equal(back.observations['observation.state'],
                                      source.observations['observation.state'])
    assert KEY not in read_dataset(root, images=False).obs_keys
    assert read_dataset(root, keys=[KEY]).obs_keys == [KEY]


def test_frame_sizes_must_agree_across_episodes(tmp_path):
    with pytest.raises(DatasetError, match=rf'episode 1: {KEY} has frame size \(16, 32\), '
                                           r'episode 0 has \(24, 32\)'):
        write_dataset(tmp_path / 'ds', [camera_episode(3, 0), camera_episode(3, 1, (16, 32))],
                      fps=10)


def test_a_full_file_starts_the_next(tmp_path):
    writer = VideoFeatureWriter(tmp_path, KEY, 10.0, 24, 32, file_size_mb=1e-6)
    first = writer.add(frames(80, 0))     # past the encoder's look-ahead: bytes muxed
    second = writer.add(frames(2, 9))
    writer.finish()
    assert (first[f'videos/{KEY}/file_index'], second[f'videos/{KEY}/file_index']) == (0, 1)
    assert second[f'videos/{KEY}/from_timestamp'] == 0.0
    assert decode_frames(tmp_path / f'videos/{KEY}/chunk-000/file-001.mp4').shape[0] == 2
