"""Our camera datasets against LeRobot 0.4.4's own code, where LeRobot is installed.

Install it beside the venv, not into it (see requirements-bench.txt), and put it on the path:
``pip install --no-deps --target /opt/lerobot_site -r requirements-bench.txt``, then
``PYTHONPATH=/opt/lerobot_site pytest test/data/test_lerobot_interop.py``. Skipped without it.

What of LeRobot runs: ``LeRobotDataset`` (metadata loading, ``__getitem__``, its timestamp →
frame logic with ``delta_timestamps``, padding at episode edges) and its decode function
``decode_video_frames_torchvision`` with the ``pyav`` backend (seek to the key frame, decode up
to the last query, closest frame within ``tolerance_s``), and for the second test its writer
(``LeRobotDataset.create`` / ``add_frame`` / ``save_episode`` / ``finalize``, SVT-AV1 by PyAV).
What does not: that decode function reads frames through ``torchvision.io.VideoReader``, which
torchvision removed (0.28 has none), and the PyPI torchvision and torchcodec wheels are CUDA
builds that do not load beside CPU torch. ``_PyAVVideoReader`` below stands in for the removed
reader, written as torchvision 0.17-0.23 wrote its pyav backend (seek backward to a key frame,
frames as uint8 [3, H, W] with pts in seconds); where torchvision does not import, empty stub
modules stand in for the rest of it (LeRobot imports it at module level; video features never
call it).
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from dil_ros.contract import contract_from_mapping
from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import read_dataset, write_dataset
from dil_ros.sim.bimodal import bimodal_contract
from dil_ros.training.config import run_config_from_mapping
from dil_ros.training.restore import load_run
from dil_ros.training.trainer import TrainRequest, train

pytestmark = pytest.mark.skipif(importlib.util.find_spec('lerobot') is None,
                                reason='lerobot not installed (requirements-bench.txt)')

STATE, FRONT, WRIST = 'observation.state', 'observation.images.front', 'observation.images.wrist'
# Decode tolerance against the source frames: AV1 (CRF 30, yuv420p) is lossy; measured mean
# |error| up to 2.4 in 0-255 units on these patterns (neighbouring frames differ by 13-50), held
# to < 4 as test_lerobot_video.py does. Against our reader's frames the tolerance is zero.
MEAN_ERR = 4.0


class _PyAVVideoReader:
    """torchvision.io.VideoReader(path, 'video') with the pyav backend, as torchvision had it."""

    def __init__(self, path, stream='video'):
        import av
        self.container = av.open(str(path))
        self._stream = self.container.streams.video[0]
        self._frames = self.container.decode(self._stream)

    def seek(self, time_s, keyframes_only=False):
        offset = int(round(max(time_s, 0) / self._stream.time_base))
        self.container.seek(offset, backward=True, any_frame=False, stream=self._stream)
        self._frames = self.container.decode(self._stream)
        return self

    def __iter__(self):
        return self

    def __next__(self):
        frame = next(self._frames)
        return {'data': torch.as_tensor(frame.to_rgb().to_ndarray()).permute(2, 0, 1),
                'pts': float(frame.pts * frame.time_base)}


class _Missing:
    def __init__(self, *args, **kwargs):
        raise RuntimeError('torchvision is stubbed out in this test')


class _StubTorchvision(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """torchvision(.*) as empty packages; torchvision.io carries the PyAV VideoReader."""

    def find_spec(self, name, path=None, target=None):
        if name == 'torchvision' or name.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []
        module.__getattr__ = _missing
        if module.__name__ == 'torchvision':
            module.set_video_backend = lambda backend: None
            module.io = types.ModuleType('torchvision.io')
            module.io.VideoReader = _PyAVVideoReader
            sys.modules['torchvision.io'] = module.io


def _missing(attr):
    if attr.startswith('__'):
        raise AttributeError(attr)
    return _Missing


def _drop_modules(*prefixes):
    for name in [n for n in sys.modules if n.split('.')[0] in prefixes]:
        del sys.modules[name]


@pytest.fixture(scope='module')
def LeRobotDataset():  # noqa: N802 - the class itself
    stub = None
    try:
        import torchvision
        patched = not hasattr(torchvision.io, 'VideoReader')
        if patched:
            torchvision.io.VideoReader = _PyAVVideoReader
    except Exception:  # noqa: BLE001 - a CUDA wheel beside CPU torch raises RuntimeError
        _drop_modules('torchvision')
        stub = _StubTorchvision()
        sys.meta_path.insert(0, stub)
        patched = False
    try:
        module = importlib.import_module('lerobot.datasets.lerobot_dataset')
        yield module.LeRobotDataset
    finally:
        if stub is not None:
            sys.meta_path.remove(stub)
            _drop_modules('torchvision', 'lerobot')
        elif patched:
            del sys.modules['torchvision'].io.VideoReader


def pattern(length, shift, size=(24, 32)):
    """Frames whose colour changes with the frame index (so a wrong frame shows)."""
    y, x = np.mgrid[0:size[0], 0:size[1]]
    return np.stack([np.stack([(x * 4 + t * 40 + shift) % 256, (y * 5 + shift) % 256,
                               (x + y + shift) % 256], -1)
                     for t in range(length)]).astype(np.uint8)


def test_lerobot_dataset_gives_our_frames(tmp_path, LeRobotDataset):  # noqa: N803
    lengths = (5, 7, 4)
    episodes = [Episode(observations={STATE: np.random.default_rng(i).normal(size=(n, 2)),
                                      FRONT: pattern(n, 40 * i),
                                      WRIST: pattern(n, 90 + 40 * i, (16, 16))},
                        action=np.random.default_rng(10 + i).normal(size=(n, 2)),
                        timestamps=np.arange(n) / 10.0, task='reach')
                for i, n in enumerate(lengths)]
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    ours = read_dataset(root)
    window = {key: [-0.1, 0.0] for key in (STATE, FRONT, WRIST)}       # To = 2, as we train
    theirs = LeRobotDataset('local/ours', root=root, video_backend='pyav',
                            delta_timestamps=window)
    assert (theirs.num_episodes, theirs.num_frames) == (3, 16)
    assert theirs.meta.video_keys == [FRONT, WRIST]
    index = 0
    for ep, (source, back) in enumerate(zip(episodes, ours.episodes)):
        for f in range(len(source)):
            item = theirs[index]
            index += 1
            assert (int(item['episode_index']), int(item['frame_index'])) == (ep, f)
            steps = [max(f - 1, 0), f]                   # LeRobot pads by the edge frame
            for key in (FRONT, WRIST):
                got = (item[key].numpy() * 255).round().astype(np.uint8)   # [2, 3, H, W]
                got = got.transpose(0, 2, 3, 1)
                assert item[f'{key}_is_pad'].tolist() == [f == 0, False]
                # the same decoded frames as our reader: same stream, same decoder
                np.testing.assert_array_equal(got, back.observations[key][steps])
                err = np.abs(got.astype(int) - source.observations[key][steps]).mean()
                assert err < MEAN_ERR, (ep, f, key, err)
            np.testing.assert_allclose(item[STATE].numpy(),
                                       source.observations[STATE][steps], rtol=1e-6)
            np.testing.assert_allclose(item['action'].numpy(), source.action[f], rtol=1e-6)


def dot_frame(row, col, size=48):
    frame = np.full((size, size, 3), 30, np.uint8)
    frame[row:row + 8, col:col + 8] = (230, 40, 40)
    return frame


@pytest.fixture(scope='module')
def written_by_lerobot(tmp_path_factory, LeRobotDataset):  # noqa: N803
    """Six 8-frame episodes written by LeRobot's own writer: a dot (48x48 video) and a
    2-D state/action named x, y; returns (root, source frames per episode)."""
    features = {STATE: {'dtype': 'float32', 'shape': (2,), 'names': ['x', 'y']},
                'action': {'dtype': 'float32', 'shape': (2,), 'names': ['x', 'y']},
                FRONT: {'dtype': 'video', 'shape': (48, 48, 3),
                        'names': ['height', 'width', 'channels']}}
    root = tmp_path_factory.mktemp('lerobot') / 'written'
    writer = LeRobotDataset.create('local/written', fps=10, features=features, root=root,
                                   use_videos=True)
    rng = np.random.default_rng(0)
    sources = []
    for _ in range(6):
        row, col = (int(v) for v in rng.integers(0, 40, 2))
        target = np.array([col, row], np.float32) / 40 * 2 - 1
        frames = [dot_frame(row, col) for _ in range(8)]
        for t, frame in enumerate(frames):
            writer.add_frame({STATE: (target * t / 8).astype(np.float32), 'action': target,
                              FRONT: frame, 'task': 'reach the dot'})
        writer.save_episode()
        sources.append(np.stack(frames))
    writer.finalize()
    return root, sources


def contract_with(camera):
    data = bimodal_contract(horizon=8, n_action_steps=4).to_mapping()
    data['observations'] = {STATE: data['observations'][STATE]}
    if camera:
        data['observations'][FRONT] = {'topic': '/camera/front/image_raw',
                                       'type': 'sensor_msgs/msg/Image', 'height': 40,
                                       'width': 40, 'crop': [36, 36]}
    return contract_from_mapping(data, f'<dot contract, camera {camera}>')


TINY_RUN = {
    'train': {'steps': 4, 'batch_size': 8, 'seed': 0, 'checkpoint_every': 4, 'log_every': 2},
    'optim': {'lr': 1.0e-3, 'warmup_steps': 1}, 'ema': {'enabled': False},
    'policy': {'down_dims': [16, 32], 'diffusion_step_embed_dim': 16, 'kernel_size': 3,
               'num_inference_steps': 2},
    'vision': {'base_width': 16, 'num_keypoints': 8, 'feature_dim': 16},
}


def test_a_lerobot_written_dataset_reads_as_lerobot_reads_it(written_by_lerobot,
                                                             LeRobotDataset):  # noqa: N803
    root, sources = written_by_lerobot
    ours = read_dataset(root)
    assert ours.image_keys == [FRONT] and ours.lowdim_keys == [STATE]
    assert ours.names('action') == ['x', 'y'] and ours.image_shapes == {FRONT: (48, 48, 3)}
    theirs = LeRobotDataset('local/written', root=root, video_backend='pyav')
    for ep, episode in enumerate(ours.episodes):
        frames = episode.observations[FRONT]
        assert frames.shape == (8, 48, 48, 3) and frames.dtype == np.uint8
        assert np.abs(frames.astype(int) - sources[ep]).mean() < MEAN_ERR
        item = theirs[ep * 8 + 5]
        got = (item[FRONT].numpy() * 255).round().astype(np.uint8).transpose(1, 2, 0)
        np.testing.assert_array_equal(got, frames[5])
        np.testing.assert_array_equal(item['action'].numpy(), episode.action[5])


@pytest.mark.parametrize('camera', [True, False])
def test_a_lerobot_written_dataset_trains(written_by_lerobot, tmp_path, camera):
    """Cameras named in the contract train on the frames; a low-dim-only contract trains on
    the state alone."""
    root, _ = written_by_lerobot
    result = train(TrainRequest(dataset=root, run_dir=tmp_path / 'run',
                                config=run_config_from_mapping(TINY_RUN, '<tiny>'),
                                contract=contract_with(camera), progress=False))
    assert result.step == 4 and all(np.isfinite(h[1]) for h in result.history)
    policy, meta = load_run(tmp_path / 'run', ema=False)
    assert list(policy.obs_dims) == [STATE]
    if camera:
        assert meta['image_shapes'] == {FRONT: [40, 40, 3]}
        assert [cam.key for cam in policy.cameras] == [FRONT]
    else:
        assert not meta.get('image_shapes') and not policy.cameras
