"""Decoded-frame cache (dil_ros.data.frame_cache): one decode, resized, memory-mapped."""
import logging

import numpy as np
import pytest

from dil_ros.data.frame_cache import cache_frames
from dil_ros.data.lerobot import DatasetError, read_dataset, write_dataset
from dil_ros.data.lerobot_video import VideoFeatureWriter
from dil_ros.policy.vision_preprocess import resize_frames

KEY = 'observation.images.front'


@pytest.fixture
def camera_dataset(tmp_path):
    from test_lerobot_video import camera_episode
    episodes = [camera_episode(5, 0), camera_episode(7, 60), camera_episode(4, 120)]
    return write_dataset(tmp_path / 'ds', episodes, fps=10)


def test_frames_resized_with_the_models_resize_and_reused(camera_dataset, caplog):
    caplog.set_level(logging.INFO, logger='dil_ros.data.frame_cache')
    decoded = read_dataset(camera_dataset).episodes
    cache = cache_frames(camera_dataset, KEY, 12, 16)
    assert not cache.reused and cache.path.parent == camera_dataset / '.cache' / 'frames'
    assert cache.frames.dtype == np.uint8 and cache.frames.shape == (16, 12, 16, 3)
    assert isinstance(cache.frames, np.memmap)
    assert cache.episodes == {0: (0, 5), 1: (5, 7), 2: (12, 4)}
    for i, ep in enumerate(decoded):     # exactly the reader's frames through resize_frames
        np.testing.assert_array_equal(cache.episode(i),
                                      resize_frames(ep.observations[KEY], 12, 16))
    assert cache.size_bytes == cache.path.stat().st_size >= 16 * 12 * 16 * 3
    assert f'{KEY} frame cache written: 16 frames, {cache.size_bytes} bytes' in caplog.text
    again = cache_frames(camera_dataset, KEY, 12, 16)
    assert again.reused and again.path == cache.path
    other = cache_frames(camera_dataset, KEY, 24, 32)       # another size, another file
    assert other.path != cache.path
    np.testing.assert_array_equal(other.episode(1), decoded[1].observations[KEY])


def test_a_given_dir_and_resize(camera_dataset, tmp_path):
    calls = []

    def halve(frames, height, width):
        calls.append(len(frames))
        return frames[:, ::2, ::2]
    cache = cache_frames(camera_dataset, KEY, 12, 16, cache_dir=tmp_path / 'c', resize=halve)
    assert cache.path.parent == tmp_path / 'c' and sum(calls) == 16


def test_a_read_only_dataset_caches_in_the_users_cache(camera_dataset, tmp_path, monkeypatch):
    """A dataset folder that cannot be written (a shared or downloaded copy) is not an error:
    the cache goes to $XDG_CACHE_HOME/dil_ros/frames/<hash of the dataset's path>."""
    from pathlib import Path
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if camera_dataset in self.parents or self == camera_dataset:
            raise PermissionError(13, 'Read-only file system', str(self))
        return real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(Path, 'mkdir', read_only)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    cache = cache_frames(camera_dataset, KEY, 12, 16)
    assert cache.path.parent.parent == tmp_path / 'xdg' / 'dil_ros' / 'frames'
    assert not (camera_dataset / '.cache').exists()
    assert cache_frames(camera_dataset, KEY, 12, 16).reused


def test_episodes_spread_over_files(tmp_path):
    """Episodes in two video files (LeRobot starts a new file past its size limit)."""
    from test_lerobot_video import frames
    root = tmp_path / 'ds'
    writer = VideoFeatureWriter(root, KEY, 10.0, 24, 32, file_size_mb=1e-6)
    spans = [writer.add(frames(80, 0)), writer.add(frames(3, 40))]
    writer.finish()
    assert [s[f'videos/{KEY}/file_index'] for s in spans] == [0, 1]
    import json
    import pyarrow as pa
    import pyarrow.parquet as pq
    (root / 'meta/episodes/chunk-000').mkdir(parents=True)
    rows = [{'episode_index': i, 'length': n, **s} for i, (n, s) in enumerate(zip((80, 3), spans))]
    pq.write_table(pa.Table.from_pylist(rows), root / 'meta/episodes/chunk-000/file-000.parquet')
    (root / 'meta/info.json').write_text(json.dumps({
        'codebase_version': 'v3.0', 'fps': 10, 'features': {
            'action': {'dtype': 'float32', 'shape': [1]},
            KEY: {'dtype': 'video', 'shape': [24, 32, 3]}}}))
    cache = cache_frames(root, KEY, 24, 32)
    assert cache.episodes == {0: (0, 80), 1: (80, 3)}
    want = frames(3, 40)
    assert np.abs(cache.episode(1).astype(int) - want).mean() < 4.0


def test_errors_name_dataset_and_key(camera_dataset):
    with pytest.raises(DatasetError, match=r"info.json: no video feature 'observation.state'"):
        cache_frames(camera_dataset, 'observation.state', 12, 16)
    video = next((camera_dataset / 'videos').rglob('*.mp4'))
    video.write_bytes(b'broken')
    with pytest.raises(DatasetError, match=rf'{KEY}: .*file-000.mp4: cannot decode'):
        cache_frames(camera_dataset, KEY, 12, 16)
    assert not list((camera_dataset / '.cache' / 'frames').glob('*'))   # no half cache left
