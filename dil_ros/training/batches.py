"""Deterministic, resumable batches: batch ``s`` is a pure function of (seed, step, rank).

Indices come from an endless stream of DistributedSampler epochs (one shuffled permutation per
epoch, split across ranks); batch ``s`` is the slice [s*B, (s+1)*B) of this rank's stream, so a run
resumed at step ``s`` sees exactly the batches an uninterrupted run would have seen.
Small datasets are stacked once into tensors on the training device (no per-sample Python work);
large ones go through a DataLoader with the same index stream.
"""
from typing import Dict, Iterator, List

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from dil_ros.training.distributed import DistInfo

Batch = Dict[str, object]   # {'obs': {key: [B, To, D] (cameras: uint8 [B, To, H, W, 3])},
#                              'action': [B, Tp, Da]}


class IndexStream:
    """This rank's endless index stream, cut into batches of ``batch_size``."""

    def __init__(self, length: int, batch_size: int, seed: int, info: DistInfo):
        self.batch_size = batch_size
        self.sampler = DistributedSampler(range(length), num_replicas=info.world_size,
                                          rank=info.rank, shuffle=True, seed=seed)
        self.per_epoch = len(self.sampler)

    def _epoch(self, epoch: int) -> List[int]:
        self.sampler.set_epoch(epoch)
        return list(self.sampler)

    def batches(self, start_step: int = 0) -> Iterator[List[int]]:
        pos = start_step * self.batch_size
        epoch, offset = divmod(pos, self.per_epoch)
        buf = self._epoch(epoch)[offset:]
        while True:
            while len(buf) < self.batch_size:
                epoch += 1
                buf += self._epoch(epoch)
            yield buf[:self.batch_size]
            buf = buf[self.batch_size:]


def collate(items) -> Batch:
    """Stack windows ``{obs, action}`` into one float32 batch (camera frames stay uint8)."""
    obs = {k: _float_unless_uint8(torch.stack([torch.as_tensor(np.asarray(it['obs'][k]))
                                               for it in items]))
           for k in items[0]['obs']}
    action = torch.stack([torch.as_tensor(np.asarray(it['action'])) for it in items]).float()
    return {'obs': obs, 'action': action}


def _float_unless_uint8(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.uint8 else x.float()


class TensorCache:
    """Every window of a small dataset stacked into tensors on ``device``."""

    def __init__(self, windows, device: torch.device):
        full = collate([windows[i] for i in range(len(windows))])
        self.obs = {k: v.to(device) for k, v in full['obs'].items()}
        self.action = full['action'].to(device)

    def __getitem__(self, idx: List[int]) -> Batch:
        i = torch.as_tensor(idx, device=self.action.device)
        return {'obs': {k: v[i] for k, v in self.obs.items()}, 'action': self.action[i]}


def window_nbytes(windows) -> int:
    """Bytes all windows take as tensors (float32; camera frames uint8), from the first one."""
    first = windows[0]
    arrays = [np.asarray(v) for v in first['obs'].values()] + [np.asarray(first['action'])]
    per = sum(a.size * (1 if a.dtype == np.uint8 else 4) for a in arrays)
    return per * len(windows)


class _Batches:
    def __init__(self, batch_lists):
        self.batch_lists = batch_lists

    def __iter__(self):
        return iter(self.batch_lists)


def batch_iterator(windows, stream: IndexStream, start_step: int, device: torch.device,
                   num_workers: int = 0, cache_limit_bytes: int = 2 << 30) -> Iterator[Batch]:
    """Batches on ``device`` from step ``start_step`` on, cached in memory when they fit."""
    if num_workers == 0 and window_nbytes(windows) <= cache_limit_bytes:
        cache = TensorCache(windows, device)
        return (cache[idx] for idx in stream.batches(start_step))
    loader = DataLoader(windows, batch_sampler=_Batches(stream.batches(start_step)),
                        num_workers=num_workers, collate_fn=collate,
                        pin_memory=device.type == 'cuda', persistent_workers=num_workers > 0)
    return ({'obs': {k: v.to(device, non_blocking=True) for k, v in b['obs'].items()},
             'action': b['action'].to(device, non_blocking=True)} for b in loader)
