"""The policy controller's state as /diagnostics key values (latency, jitter, counters)."""
from typing import Dict, Tuple

import numpy as np


def _percentile(values, q: float) -> float:
    if not values:
        return float('nan')
    return float(np.percentile(np.fromiter(values, dtype=np.float64), q))


def controller_status(ctl, now: float) -> Tuple[int, str, Dict[str, str]]:
    """(level 0 OK / 1 WARN / 2 ERROR, summary, key values) for /diagnostics."""
    reason = ctl.hold_reason(now)
    if reason is None:
        state, level = 'commanding', 0
    else:
        state, level = f'holding: {reason}', ctl.hold_level(reason)
    newest = ctl.scheduler.newest
    lat = [x * 1e3 for x in ctl.wall_latencies if np.isfinite(x)]
    per = [abs(p - ctl.period) * 1e3 for p in ctl.loop_periods]
    values = {
        'state': state,
        'enabled': str(ctl.enabled),
        'estop': str(ctl.estop),
        'inference latency p50 [ms]': f'{_percentile(lat, 50):.2f}',
        'inference latency p99 [ms]': f'{_percentile(lat, 99):.2f}',
        'inference latency max [ms]': f'{max(lat):.2f}' if lat else 'nan',
        'chunk age [s]': f'{now - newest.t0:.3f}' if newest else 'nan',
        'chunks': str(ctl.counters['chunks']),
        'rejected chunks': str(ctl.counters['rejected_chunks']),
        'dropped actions': str(ctl.scheduler.dropped_actions),
        'dropped observations': str(ctl.counters['dropped_observations']),
        'loop overruns': str(ctl.counters['loop_overruns']),
        'loop jitter p99 [ms]': f'{_percentile(per, 99):.3f}',
        'observation age [s]': f'{ctl.observation_age(now):.3f}',
        'last error': ctl.last_error,
    }
    return level, state, values
