"""Camera preprocessing: resize (numpy cache and in-model alike), crop, ImageNet normalisation."""
import numpy as np
import pytest
import torch

from dil_ros.policy.config import PolicyError
from dil_ros.policy.vision_preprocess import (IMAGENET_MEAN, IMAGENET_STD, CameraSpec,
                                              ImagePreprocess, resize_frames)


def _frames(n=3, h=12, w=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _unnormalize(x):
    mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    return x * std + mean


def test_resize_frames_keeps_native_size_and_matches_the_models_resize():
    frames = _frames()
    assert resize_frames(frames, 12, 16) is frames
    small = resize_frames(frames, 6, 8)
    assert small.dtype == np.uint8 and small.shape == (3, 6, 8, 3)
    # The model's own resize of the native frames, before normalisation, is the cache's value
    # up to the uint8 rounding.
    pre = ImagePreprocess(CameraSpec('observation.images.front', 6, 8))
    inside = _unnormalize(pre(torch.from_numpy(frames)[None])).permute(0, 2, 3, 1).numpy()
    assert np.abs(inside * 255 - small.astype(np.float64)).max() <= 0.5 + 1e-4


def test_resize_frames_averages_neighbours():
    # Halving a 2x2 checker with bilinear (align_corners=False, no antialias) samples between
    # pixels: every output pixel is the mean of its 2x2 block.
    frames = np.zeros((1, 4, 4, 3), np.uint8)
    frames[0, ::2, ::2] = 200
    assert (resize_frames(frames, 2, 2) == 50).all()


def test_resize_frames_rejects_float_frames():
    with pytest.raises(PolicyError, match='uint8'):
        resize_frames(np.zeros((1, 4, 4, 3), np.float32), 2, 2)


def test_centre_and_random_crop_pick_the_expected_window():
    camera = CameraSpec('observation.images.front', 12, 16, crop=(8, 10))
    pre = ImagePreprocess(camera)
    frames = torch.from_numpy(_frames(n=2))[None]               # [1, 2, 12, 16, 3]
    full = frames.float().div(255).permute(0, 1, 4, 2, 3)[0]    # [2, 3, 12, 16]
    centre = _unnormalize(pre(frames))
    assert centre.shape == (2, 3, 8, 10)
    assert torch.allclose(centre, full[:, :, 2:10, 3:13], atol=1e-6)
    u = torch.tensor([[[0.0, 0.0], [0.999, 0.999]]])            # top-left, bottom-right
    random = _unnormalize(pre(frames, u))
    assert torch.allclose(random[0], full[0, :, 0:8, 0:10], atol=1e-6)
    assert torch.allclose(random[1], full[1, :, 4:12, 6:16], atol=1e-6)


def test_normalisation_is_imagenet_mean_std():
    pre = ImagePreprocess(CameraSpec('observation.images.front', 4, 4))
    grey = torch.full((1, 1, 4, 4, 3), 255, dtype=torch.uint8)
    out = pre(grey)
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(out[0, :, 0, 0], expected, atol=1e-6)


def test_preprocess_scripts_and_names_the_key_on_bad_frames():
    pre = torch.jit.script(ImagePreprocess(CameraSpec('observation.images.wrist', 8, 8, (6, 6))))
    assert pre(torch.zeros(2, 3, 10, 12, 3, dtype=torch.uint8)).shape == (6, 3, 6, 6)
    with pytest.raises(Exception, match='observation.images.wrist: expected uint8'):
        pre(torch.zeros(1, 1, 8, 8, 3))
    with pytest.raises(Exception, match=r'observation.images.wrist: expected frames'):
        pre(torch.zeros(1, 8, 8, 3, dtype=torch.uint8))


def test_camera_spec_names_the_key_on_a_bad_crop():
    with pytest.raises(PolicyError, match='observation.images.front: crop'):
        CameraSpec('observation.images.front', 8, 8, crop=(9, 4))
