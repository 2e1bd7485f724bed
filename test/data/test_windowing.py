"""Training windows: exact indices and edge padding, as Chi et al.'s SequenceSampler."""
import numpy as np
import pytest
import torch

from dil_ros.data.episode import Episode
from dil_ros.data.windowing import create_indices, WindowDataset


def chi_create_indices(episode_ends, sequence_length, episode_mask, pad_before=0, pad_after=0):
    """diffusion_policy/common/sampler.py create_indices, transcribed (numba decorator dropped)."""
    pad_before = min(max(pad_before, 0), sequence_length - 1)
    pad_after = min(max(pad_after, 0), sequence_length - 1)
    indices = list()
    for i in range(len(episode_ends)):
        if not episode_mask[i]:
            continue
        start_idx = 0
        if i > 0:
            start_idx = episode_ends[i - 1]
        end_idx = episode_ends[i]
        episode_length = end_idx - start_idx
        min_start = -pad_before
        max_start = episode_length - sequence_length + pad_after
        for idx in range(min_start, max_start + 1):
            buffer_start_idx = max(idx, 0) + start_idx
            buffer_end_idx = min(idx + sequence_length, episode_length) + start_idx
            start_offset = buffer_start_idx - (idx + start_idx)
            end_offset = (idx + sequence_length + start_idx) - buffer_end_idx
            sample_start_idx = 0 + start_offset
            sample_end_idx = sequence_length - end_offset
            indices.append([buffer_start_idx, buffer_end_idx, sample_start_idx, sample_end_idx])
    return np.array(indices)


def ramp_episode(start, length):
    """Frame i of the episode holds the value start + i in every dimension."""
    values = np.arange(start, start + length, dtype=np.float32)
    return Episode(observations={'observation.state': np.stack([values, -values], axis=1)},
                   action=values[:, None] * 10, timestamps=np.arange(length) * 0.1)


def test_hand_worked_example():
    # T = 5 and T = 2 episodes, To = 2, Tp = 4, Ta = 2: pad_before = 1, pad_after = 1.
    ds = WindowDataset([ramp_episode(0, 5), ramp_episode(5, 2)], n_obs_steps=2, horizon=4,
                       n_action_steps=2)
    assert ds.indices[:, :4].tolist() == [
        [0, 3, 1, 4],   # idx -1: frames 0 0 1 2
        [0, 4, 0, 4],   # idx  0: frames 0 1 2 3
        [1, 5, 0, 4],   # idx  1: frames 1 2 3 4
        [2, 5, 0, 3],   # idx  2: frames 2 3 4 4
        [5, 7, 1, 3],   # episode 2, idx -1: frames 5 5 6 6
    ]
    frames = [[0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 4], [5, 5, 6, 6]]
    assert len(ds) == 5
    for i, want in enumerate(frames):
        item = ds[i]
        assert item['action'].dtype == torch.float32
        assert item['action'].shape == (4, 1)
        assert item['action'][:, 0].tolist() == [10 * f for f in want]
        assert item['obs']['observation.state'].shape == (2, 2)
        assert item['obs']['observation.state'][:, 0].tolist() == want[:2]
        assert item['obs']['observation.state'][:, 1].tolist() == [-f for f in want[:2]]


@pytest.mark.parametrize('lengths,to,tp,ta', [([5, 2], 2, 4, 2), ([30, 17, 1], 2, 16, 8),
                                               ([9], 1, 1, 1), ([40, 3], 4, 10, 6)])
def test_matches_chi_create_indices(lengths, to, tp, ta):
    ends = np.cumsum(lengths)
    want = chi_create_indices(ends, tp, np.ones(len(ends), bool), pad_before=to - 1,
                              pad_after=ta - 1)
    got = create_indices(lengths, tp, pad_before=to - 1, pad_after=ta - 1)
    np.testing.assert_array_equal(got[:, :4], want)


def test_returns_copies_not_views():
    ds = WindowDataset([ramp_episode(0, 20)], n_obs_steps=2, horizon=4, n_action_steps=2)
    item = ds[3]
    item['action'] += 100
    assert ds[3]['action'][0, 0].item() == 20.0


def test_rejects_bad_horizon():
    with pytest.raises(ValueError, match='horizon'):
        WindowDataset([ramp_episode(0, 5)], n_obs_steps=3, horizon=2, n_action_steps=1)


def test_accepts_a_read_dataset(tmp_path, episodes):
    from dil_ros.data.lerobot import read_dataset, write_dataset
    ds = read_dataset(write_dataset(tmp_path / 'ds', episodes, fps=10))
    windows = WindowDataset(ds, n_obs_steps=2, horizon=16, n_action_steps=8)
    # per episode: T - Tp + Ta - 1 + To - 1 + 1 = T - 16 + 9 starts, at least 0
    assert len(windows) == sum(max(len(ep) - 7, 0) for ep in episodes)
    item = windows[0]
    assert set(item['obs']) == {'observation.state', 'observation.environment_state'}
    np.testing.assert_array_equal(item['action'][0].numpy(), episodes[0].action[0])
    np.testing.assert_array_equal(item['obs']['observation.state'][0].numpy(),
                                  episodes[0].observations['observation.state'][0])
