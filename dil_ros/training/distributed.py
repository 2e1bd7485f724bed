"""torchrun/DistributedDataParallel plumbing: who am I, which device, and a clean setup/teardown.

``torchrun --nproc_per_node N -m dil_ros.cli.main train ...`` sets WORLD_SIZE/RANK/LOCAL_RANK;
without them training runs in one process. NCCL on CUDA, gloo otherwise.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> 'DistInfo':
        world = int(os.environ.get('WORLD_SIZE', '1'))
        return cls(world_size=world, rank=int(os.environ.get('RANK', '0')),
                   local_rank=int(os.environ.get('LOCAL_RANK', '0')))


def resolve_device(name: str, info: DistInfo) -> torch.device:
    """'auto' picks this rank's GPU when CUDA is present, else the CPU."""
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(name)
    if device.type == 'cuda' and device.index is None:
        device = torch.device('cuda', info.local_rank % max(1, torch.cuda.device_count()))
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    return device


def init(info: DistInfo, device: torch.device) -> None:
    if info.enabled and not dist.is_initialized():
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo',
                                rank=info.rank, world_size=info.world_size)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def mean_across_ranks(value: torch.Tensor, info: DistInfo) -> float:
    """The average of a scalar over all ranks (the value itself without DDP)."""
    if not info.enabled:
        return float(value)
    value = value.detach().clone().float()
    dist.all_reduce(value)
    return float(value) / info.world_size


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def max_across_ranks(values, info: DistInfo, device: torch.device):
    """Element-wise maximum of a list of ints over all ranks (the list itself without DDP)."""
    if not info.enabled:
        return [int(v) for v in values]
    tensor = torch.tensor([int(v) for v in values], dtype=torch.int64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [int(v) for v in tensor.tolist()]


def broadcast_int(value: int, info: DistInfo, device: torch.device) -> int:
    """Rank 0's ``value`` on every rank."""
    if not info.enabled:
        return int(value)
    tensor = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.broadcast(tensor, src=0)
    return int(tensor.item())
