"""Latency of one policy call: median and p99 over repeated calls on fixed inputs."""
import time
from typing import Callable, Dict, List

import torch


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], device: torch.device, iters: int = 50,
               warmup: int = 5) -> Dict[str, float]:
    """Call ``fn()`` ``warmup`` + ``iters`` times (synchronising a GPU after each call).

    Returns {'median_ms', 'p99_ms', 'mean_ms', 'min_ms', 'iters'}; p99 of fewer than 100 calls
    is the linear interpolation torch.quantile gives, close to the maximum.
    """
    with torch.inference_mode():
        for _ in range(max(0, warmup)):
            fn()
        _sync(device)
        times: List[float] = []
        for _ in range(max(1, iters)):
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append((time.perf_counter() - start) * 1e3)
    t = torch.tensor(times, dtype=torch.float64)
    return {'median_ms': float(t.median()), 'p99_ms': float(torch.quantile(t, 0.99)),
            'mean_ms': float(t.mean()), 'min_ms': float(t.min()), 'iters': len(times)}
