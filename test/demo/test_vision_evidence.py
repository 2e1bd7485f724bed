"""The vision report's evidence: image reliance tells a policy that reads its camera from one
that does not; the mean-goal success counts goals within the tolerance of the mean."""
from types import SimpleNamespace

import numpy as np
import torch

from dil_ros.data.episode import Episode
from dil_ros.demo.vision_evidence import image_reliance, mean_goal_success

CAMERA = 'observation.images.top'
STATE = 'observation.state'


def episodes(levels, length=10):
    """One episode per brightness level: the action (1-D) is the level, the frames show it."""
    return SimpleNamespace(episodes=[Episode(
        observations={STATE: np.zeros((length, 1), np.float32),
                      CAMERA: np.full((length, 8, 8, 3), level, np.uint8)},
        action=np.full((length, 1), level / 255.0, np.float32),
        timestamps=np.arange(length) / 10.0) for level in levels])


class Reads(torch.nn.Module):
    def forward(self, obs, noise):   # the chunk is the newest frame's brightness
        level = obs[CAMERA][:, -1].float().mean(dim=(1, 2, 3)) / 255.0
        return level[:, None, None].expand(-1, noise.shape[1], 1)


class Ignores(torch.nn.Module):
    def forward(self, obs, noise):
        return torch.full((noise.shape[0], noise.shape[1], 1), 0.5)


def test_image_reliance_tells_reading_from_ignoring():
    data = episodes([20, 120, 220])
    contract = SimpleNamespace(image_keys=[CAMERA], n_obs_steps=2, horizon=4, n_action_steps=2)
    reads = image_reliance(Reads(), data, contract, [0, 1, 2])
    assert reads['own frames'] < 1e-6 and reads["other episode's frames"] > 0.3
    ignores = image_reliance(Ignores(), data, contract, [0, 1, 2])
    assert ignores['own frames'] == ignores["other episode's frames"] > 0.2


def test_mean_goal_success():
    demo = [[0.0, 0.0, 0.0], [0.02, 0.0, 0.0]]                 # mean (0.01, 0, 0)
    evaluation = [[0.01, 0.0, 0.0], [0.05, 0.0, 0.0], [0.01, 0.02, 0.0]]
    assert mean_goal_success(demo, evaluation, 0.03) == 2 / 3
    assert np.isnan(mean_goal_success([], evaluation, 0.03))
