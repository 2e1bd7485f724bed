"""Latency of policy calls: median and p99 over repeated calls on fixed inputs.

Several candidates are timed round-robin (one call each per round), so that load from other
processes on a shared machine hits them alike and their ratios stay meaningful.
"""
import time
from typing import Callable, Dict, List

import torch


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _stats(times: List[float]) -> Dict[str, float]:
    t = torch.tensor(times, dtype=torch.float64)
    return {'median_ms': float(t.median()), 'p99_ms': float(torch.quantile(t, 0.99)),
            'mean_ms': float(t.mean()), 'min_ms': float(t.min()), 'iters': len(times)}


def time_round_robin(fns: Dict[str, Callable[[], object]], device: torch.device,
                     iters: int = 50, warmup: int = 5) -> Dict[str, Dict[str, float]]:
    """Call every ``fn()`` ``warmup`` + ``iters`` times, interleaved, syncing a GPU after each.

    Returns {name: {'median_ms', 'p99_ms', 'mean_ms', 'min_ms', 'iters'}}; p99 of fewer than 100
    calls is torch.quantile's interpolation, close to the maximum.
    """
    times: Dict[str, List[float]] = {name: [] for name in fns}
    with torch.inference_mode():
        for _ in range(max(0, warmup)):
            for fn in fns.values():
                fn()
        _sync(device)
        for _ in range(max(1, iters)):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                _sync(device)
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: _stats(t) for name, t in times.items()}


def time_calls(fn: Callable[[], object], device: torch.device, iters: int = 50,
               warmup: int = 5) -> Dict[str, float]:
    """``time_round_robin`` for one candidate."""
    return time_round_robin({'fn': fn}, device, iters, warmup)['fn']
