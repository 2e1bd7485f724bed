"""Importing a Diffusion Policy zarr replay buffer (zarr format 2 as Chi writes, and 3)."""
import numpy as np
import pytest
import zarr

from dil_ros.cli.main import main
from dil_ros.contract import load_contract
from dil_ros.data.lerobot import read_dataset
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.zarr_import import import_zarr
from dil_ros.training.checkpoint import load_checkpoint


def make_buffer(path, zarr_format, images=False, ends=(4, 9)):
    """A replay buffer laid out as Chi's Push-T (state 5-D, action 2-D, maybe img)."""
    n = ends[-1]
    root = zarr.open_group(str(path), mode='w', zarr_format=zarr_format)
    rng = np.random.default_rng(0)
    state = rng.normal(size=(n, 5)).astype(np.float32)
    keypoint = rng.normal(size=(n, 3, 2)).astype(np.float32)
    action = rng.normal(size=(n, 2)).astype(np.float32)
    root.create_array('data/state', data=state)
    root.create_array('data/keypoint', data=keypoint)
    root.create_array('data/action', data=action)
    if images:
        root.create_array('data/img', data=np.zeros((n, 4, 4, 3), np.uint8))
    root.create_array('meta/episode_ends', data=np.array(ends, np.int64))
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
               '--obs-key', 'state=observation.state', '--fps', '20'])
    assert rc == 0
    assert '2 episodes, 9 frames at 20 fps' in capsys.readouterr().out


def test_import_then_train_without_writing_yaml(tmp_path, capsys, one_torch_thread):
    """The README's two commands as written: no --fps, no contract file, no --contract."""
    _, _, action = make_buffer(tmp_path / 'pusht.zarr', 2, images=True, ends=(30, 55, 90))
    assert main(['import-zarr', str(tmp_path / 'pusht.zarr'), '--out', str(tmp_path / 'ds')]) \
        == 0
    ds = read_dataset(tmp_path / 'ds')
    assert ds.fps == 10 and ds.names('observation.state') == [f'state_{i}' for i in range(5)]
    contract = load_contract(tmp_path / 'ds' / 'contract.yaml')
    assert contract.rate_hz == 10 and contract.obs_dims == {'observation.state': 5}
    assert not contract.observations['observation.state'].has_topic
    assert contract.action.joints == ('action_0', 'action_1')
    for i, joint in enumerate(contract.action.joints):
        assert contract.limits[joint].lower < action[:, i].min()
        assert contract.limits[joint].upper > action[:, i].max()
    (tmp_path / 'tiny.yaml').write_text(
        'train: {steps: 2, batch_size: 8, checkpoint_every: 2, log_every: 1}\n'
        'policy: {down_dims: [16], diffusion_step_embed_dim: 16, kernel_size: 3}\n')
    capsys.readouterr()
    assert main(['train', '--dataset', str(tmp_path / 'ds'), '--out', str(tmp_path / 'run'),
                 '--config', str(tmp_path / 'tiny.yaml'), '--no-progress']) == 0
    out = capsys.readouterr().out
    assert f'contract: {tmp_path / "ds" / "contract.yaml"}' in out and 'step 2, loss' in out
    assert load_checkpoint(tmp_path / 'run')['contract']['name'] == 'pusht'


def test_errors_name_the_key(tmp_path):
    make_buffer(tmp_path / 'buf.zarr', 2, images=True)
    with pytest.raises(DatasetError, match='data/nope'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'nope': 'observation.state'})
    with pytest.raises(DatasetError, match='data/img.*images'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'img': 'observation.image'})
    with pytest.raises(DatasetError, match='not found'):
        import_zarr(tmp_path / 'missing.zarr', tmp_path / 'ds')


def test_chis_img_becomes_a_camera(tmp_path):
    """Push-T's img (float 0..255, HWC) -> observation.images.img, a video feature, and a
    dataset-only camera entry of the array's size in contract.yaml."""
    make_buffer(tmp_path / 'buf.zarr', 2)
    root = zarr.open_group(str(tmp_path / 'buf.zarr'), mode='a')
    y, x = np.mgrid[0:16, 0:24]
    img = np.stack([np.stack([x * 10.0 + t, y * 12.0, np.full((16, 24), 7.4 * t)], -1)
                    for t in range(9)]).astype(np.float32)
    root.create_array('data/img', data=img)
    assert main(['import-zarr', str(tmp_path / 'buf.zarr'), '--out', str(tmp_path / 'ds'),
                 '--obs-key', 'state=observation.state',
                 '--obs-key', 'img=observation.images.img']) == 0
    contract = load_contract(tmp_path / 'ds' / 'contract.yaml')
    assert contract.image_shapes == {'observation.images.img': (16, 24, 3)}
    assert contract.obs_dims == {'observation.state': 5}
    ds = read_dataset(tmp_path / 'ds')
    assert ds.features['observation.images.img']['dtype'] == 'video'
    frames = np.concatenate([ep.observations['observation.images.img'] for ep in ds.episodes])
    assert frames.dtype == np.uint8 and frames.shape == (9, 16, 24, 3)
    assert np.abs(frames.astype(float) - np.rint(img)).mean() < 4.0   # lossy AV1


def test_bad_images_name_the_key(tmp_path):
    make_buffer(tmp_path / 'buf.zarr', 2)
    root = zarr.open_group(str(tmp_path / 'buf.zarr'), mode='a')
    root.create_array('data/gray', data=np.zeros((9, 4, 4), np.float32))
    root.create_array('data/unit', data=np.full((9, 4, 4, 3), 300.0, np.float32))
    with pytest.raises(DatasetError, match=r'data/gray has shape \(9, 4, 4\); a camera needs'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'gray': 'observation.images.g'})
    with pytest.raises(DatasetError, match=r'observation.images.u: pixel values span 300..300; '
                                           'expected 0..255'):
        import_zarr(tmp_path / 'buf.zarr', tmp_path / 'ds', {'unit': 'observation.images.u'})
