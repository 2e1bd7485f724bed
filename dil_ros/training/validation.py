"""Validation loss on held-out episodes: the training objective on fixed batches, no gradients.

The batches (up to ``max_batches`` of ``batch_size`` windows, spread evenly over the held-out
windows), the noise and the diffusion timesteps are drawn once, so successive values differ only
because the weights changed. The loss is computed with the weights a run exports (the EMA model
when EMA is on), on the main rank.
"""
from typing import List

import numpy as np
import torch
from torch import nn

from dil_ros.training.batches import collate


class Validator:
    def __init__(self, windows, objective: nn.Module, batch_size: int, max_batches: int,
                 seed: int, device: torch.device):
        n = min(len(windows), batch_size * max_batches)
        picks = np.unique(np.linspace(0, len(windows) - 1, n).round().astype(np.int64))
        self.objective = objective
        self.batches: List = []
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        for lo in range(0, len(picks), batch_size):
            batch = collate([windows[int(i)] for i in picks[lo:lo + batch_size]])
            obs = {k: v.to(device) for k, v in batch['obs'].items()}
            action = batch['action'].to(device)
            self.batches.append((obs, action, objective.draw(action, generator)))
        self.num_windows = len(picks)

    @torch.no_grad()
    def loss(self, autocast) -> float:
        """Mean loss over the fixed batches (weighted by batch size)."""
        total, count = 0.0, 0
        for obs, action, draws in self.batches:
            with autocast():
                loss = self.objective(obs, action, *draws)
            total += float(loss) * action.shape[0]
            count += action.shape[0]
        return total / max(count, 1)
