"""Training windows cut from episodes exactly as Chi et al.'s SequenceSampler cuts them.

For each episode every start position ``idx`` in ``[-(To - 1), T - Tp + (Ta - 1)]`` gives one
window of ``Tp`` frames; frames before the episode repeat its first frame and frames after it
repeat its last (diffusion_policy/common/sampler.py: ``create_indices`` with
``pad_before = To - 1``, ``pad_after = Ta - 1``, then ``sample_sequence``)::

    window:  |o|o|                 obs = first To frames of the window
             |a|a|a|a|a|...|a|     action = all Tp frames of the window
"""

from typing import Dict, List, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from dil_ros.data.episode import Episode


def create_indices(episode_lengths: Sequence[int], sequence_length: int, pad_before: int = 0,
                   pad_after: int = 0) -> np.ndarray:
    """Chi et al.'s ``create_indices``: rows ``[buffer_start, buffer_end, sample_start,
    sample_end]`` into the concatenation of all episodes (and a 5th column: the episode)."""
    pad_before = min(max(pad_before, 0), sequence_length - 1)
    pad_after = min(max(pad_after, 0), sequence_length - 1)
    rows = []
    start_idx = 0
    for ep, length in enumerate(episode_lengths):
        for idx in range(-pad_before, length - sequence_length + pad_after + 1):
            buffer_start = max(idx, 0) + start_idx
            buffer_end = min(idx + sequence_length, length) + start_idx
            sample_start = buffer_start - (idx + start_idx)
            sample_end = sequence_length - ((idx + sequence_length + start_idx) - buffer_end)
            rows.append([buffer_start, buffer_end, sample_start, sample_end, ep])
        start_idx += length
    return np.asarray(rows, dtype=np.int64).reshape(-1, 5)


def sample_sequence(data: np.ndarray, sequence_length: int, buffer_start: int, buffer_end: int,
                    sample_start: int, sample_end: int) -> np.ndarray:
    """Frames ``data[buffer_start:buffer_end]`` placed at ``[sample_start:sample_end]`` of a
    ``sequence_length`` window, edge-padded with the first/last of those frames."""
    sample = data[buffer_start:buffer_end]
    if sample_start == 0 and sample_end == sequence_length:
        return sample
    out = np.empty((sequence_length,) + data.shape[1:], dtype=data.dtype)
    out[:sample_start] = sample[0]
    out[sample_end:] = sample[-1]
    out[sample_start:sample_end] = sample
    return out


def _stack(arrays: List[np.ndarray]) -> np.ndarray:
    out = np.concatenate(arrays)
    return out if out.dtype == np.uint8 and out.ndim == 4 else out.astype(np.float32)


class WindowDataset(TorchDataset):
    """``{'obs': {key: [To, D]}, 'action': [Tp, Da]}`` float32 windows in physical units;
    camera keys ``[To, H, W, 3]`` uint8."""

    def __init__(self, dataset_or_episodes: Union['object', List[Episode]], n_obs_steps: int,
                 horizon: int, n_action_steps: int):
        episodes = getattr(dataset_or_episodes, 'episodes', dataset_or_episodes)
        episodes = list(episodes)
        if not episodes:
            raise ValueError('WindowDataset needs at least one episode')
        if not 1 <= n_obs_steps <= horizon or not 1 <= n_action_steps <= horizon:
            raise ValueError(f'need 1 <= n_obs_steps ({n_obs_steps}), n_action_steps '
                             f'({n_action_steps}) <= horizon ({horizon})')
        self.n_obs_steps = n_obs_steps
        self.horizon = horizon
        self.n_action_steps = n_action_steps
        self.obs_keys = list(episodes[0].observations)
        # Camera frames stay uint8 [T, H, W, 3] (the policy converts them); the rest is float32.
        self.obs = {k: _stack([ep.observations[k] for ep in episodes]) for k in self.obs_keys}
        self.action = np.concatenate([ep.action for ep in episodes]).astype(np.float32)
        self.indices = create_indices([len(ep) for ep in episodes], horizon,
                                      pad_before=n_obs_steps - 1, pad_after=n_action_steps - 1)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, i: int) -> Dict[str, object]:
        b0, b1, s0, s1, _ = (int(v) for v in self.indices[i])
        obs = {}
        for key in self.obs_keys:
            # Only the first To frames are read; padding them equals padding the whole window.
            window = sample_sequence(self.obs[key], self.horizon, b0, b1, s0, s1)
            obs[key] = torch.from_numpy(np.array(window[:self.n_obs_steps]))
        action = sample_sequence(self.action, self.horizon, b0, b1, s0, s1)
        return {'obs': obs, 'action': torch.from_numpy(np.array(action))}
