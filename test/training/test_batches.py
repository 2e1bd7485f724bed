"""Batches are a pure function of (seed, step, rank): resumable, disjoint across ranks."""
import itertools

from dil_ros.training.batches import IndexStream
from dil_ros.training.distributed import DistInfo


def take(stream, start, n):
    return list(itertools.islice(stream.batches(start), n))


def test_resumed_stream_continues_identically():
    stream = IndexStream(length=23, batch_size=5, seed=1, info=DistInfo())
    full = take(stream, 0, 12)
    assert take(stream, 7, 5) == full[7:]
    # every epoch is a permutation: the first 20 indices (< 23) hold no duplicates
    flat = [i for b in full for i in b]
    assert len(set(flat[:23])) == 23


def test_ranks_split_each_epoch():
    a = IndexStream(20, 5, seed=0, info=DistInfo(world_size=2, rank=0))
    b = IndexStream(20, 5, seed=0, info=DistInfo(world_size=2, rank=1))
    first_a = [i for batch in take(a, 0, 2) for i in batch]
    first_b = [i for batch in take(b, 0, 2) for i in batch]
    assert sorted(first_a + first_b) == list(range(20))


def test_dataloader_path_yields_the_cached_batches():
    import torch

    from dil_ros.data.windowing import WindowDataset
    from dil_ros.sim.bimodal import make_demonstrations
    from dil_ros.training.batches import batch_iterator

    windows = WindowDataset(make_demonstrations(3, seed=0), 2, 16, 8)
    stream = IndexStream(len(windows), 4, seed=0, info=DistInfo())
    cpu = torch.device('cpu')
    cached = list(itertools.islice(batch_iterator(windows, stream, 2, cpu, 0), 3))
    loaded = list(itertools.islice(batch_iterator(windows, stream, 2, cpu, 1), 3))
    for a, b in zip(cached, loaded):
        assert torch.equal(a['action'], b['action'])
        for key in a['obs']:
            assert torch.equal(a['obs'][key], b['obs'][key])
