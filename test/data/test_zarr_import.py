"""Importing a Diffusion Policy zarr replay buffer (zarr format 2 as Chi writes, and 3)."""
import numpy as np
import pytest
import zarr

from dil_ros.cli.main import main
from dil_ros.data.lerobot import read_dataset
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.zarr_import import import_zarr


def make_buffer(path, zarr_format, images=False):
    root = zarr.open_group(str(path), mode='w', zarr_format=zarr_format)
    rng = np.random.default_rng(0)
    state = rng.normal(size=(9, 5)).astype(np.float32)
    keypoint = rng.normal(size=(9, 3, 2)).astype(np.float32)
    action = rng.normal(size=(9, 2)).astype(np.float32)
    root.create_array('data/state', data=state)
    root.create_array('data/keypoint', data=keypoint)
    root.create_array('data/action', data=action)
    if images:
        root.create_array('data/img', data=np.zeros((9, 4, 4, 3), np.uint8))
    root.create_array('meta/episode_ends', data=np.array([4, 9], np.int64))
    return state, keypoint, action


@pytest.mark.parametrize('zarr_format', [2, 3])
def test_import_round_trip(tmp_path, zarr_format):
    state, keypoint, action = make_buffer(tmp_path / 'buf.zarr', zarr_format)
    out = import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds',
                      {'state': 'observation.state', 'keypoint': 'observation.keypoint'}, fps=10)
    ds = read_dataset(out)
    assert [len(ep) for ep in ds.episodes] == [4, 5]
    np.testing.assert_array_equal(ds.episodes[1].observations['observation.state'], state[4:])
    np.testing.assert_array_equal(ds.episodes[0].observations['observation.keypoint'],
                                  keypoint[:4].reshape(4, 6))
    np.testing.assert_array_equal(ds.episodes[1].action, action[4:])
    np.testing.assert_allclose(ds.episodes[1].timestamps, np.arange(5) / 10, atol=1e-6)


def test_cli(tmp_path, capsys):
    make_buffer(tmp_path / 'buf.zarr', 2, images=True)
    rc = main(['import-zarr', str(tmp_path / 'buf.zarr'), '--out', str(tmp_path / 'ds'),
               '--obs-key', 'state=observation.state', '--fps', '10'])
    assert rc == 0
    assert '2 episodes, 9 frames' in capsys.readouterr().out


def test_errors_name_the_key(tmp_path):
    make_buffer(tmp_path / 'buf.zarr', 2, images=True)
    with pytest.raises(DatasetError, match='data/nope'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'nope': 'observation.state'})
    with pytest.raises(DatasetError, match='data/img.*images'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'img': 'observation.image'})
    with pytest.raises(DatasetError, match='not found'):
        import_zarr(tmp_path / 'missing.zarr', tmp_path / 'ds')
