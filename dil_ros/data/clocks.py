"""Which clock a recording's stamps come from, and one clear error when topics disagree.

A bag's times come from two places (:mod:`dil_ros.data.bag_reader`): a message's header stamp,
set by its publisher, and else the bag's receive time, set by the recorder's clock. Either clock is
sim time when that node runs with ``use_sim_time`` (seconds since the simulation started) and
wall time otherwise (seconds since 1970). A recorder on wall time next to a simulator that stamps
its joint states with sim time gives topics 1.7e9 s apart, which no grid can put together.

Stamps below :data:`WALL_CLOCK_MIN_NS` (1e9 s, September 2001) are taken for sim time: no
simulation runs for 31 years, and no wall clock that is set reads a date before 2001. A computer
whose clock was never set (no RTC, no NTP yet) reads 1970 plus its uptime and counts as sim time
here, which is as wrong for a recording as a sim clock.
"""

from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Mapping

from dil_ros.data.bag_reader import BagError, TopicSeries

WALL_CLOCK_MIN_NS = 10**18
SIM, WALL = 'sim time', 'wall time'


def clock_of(stamp_ns: int) -> str:
    """:data:`SIM` or :data:`WALL` for one stamp (int ns)."""
    return WALL if int(stamp_ns) >= WALL_CLOCK_MIN_NS else SIM


def _when(stamp_ns: int) -> str:
    if clock_of(stamp_ns) == SIM:
        return f'{stamp_ns * 1e-9:.3f} s'
    return datetime.fromtimestamp(stamp_ns * 1e-9, timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _source(s: TopicSeries) -> str:
    if s.header_stamped == len(s.times_ns):
        return 'header stamps'
    return 'receive times' if s.header_stamped == 0 else 'header stamps and receive times'


def _describe(s: TopicSeries) -> str:
    return f'{s.topic} ({_source(s)}, {_when(s.times_ns[0])} to {_when(s.times_ns[-1])})'


def check_clocks(path: Path, series: Mapping[str, TopicSeries]) -> None:
    """BagError naming the topics, their stamps' source and clock when not all are on one clock.

    Receive times are the recorder's clock and header stamps the publisher's: the hint says
    which node's ``use_sim_time`` to set.
    """
    for s in series.values():
        first, last = clock_of(s.times_ns[0]), clock_of(s.times_ns[-1])
        if first != last:
            raise BagError(f'{path}: topic {s.topic}: stamps from two clocks ({first} at '
                           f'{_when(s.times_ns[0])}, {last} at {_when(s.times_ns[-1])}): its '
                           'publisher stamps some messages with a zero stamp (then the receive '
                           'time counts) or changed use_sim_time while recording')
    by_clock: Dict[str, List[TopicSeries]] = {}
    for s in series.values():
        group = by_clock.setdefault(clock_of(s.times_ns[0]), [])
        if all(g.topic != s.topic for g in group):
            group.append(s)
    if len(by_clock) < 2:
        return
    parts = [f'{", ".join(_describe(s) for s in group)} on {clock}'
             for clock, group in sorted(by_clock.items())]
    raise BagError(f'{path}: stamps from two clocks: {"; ".join(parts)}: {_hint(by_clock)}')


def _hint(by_clock: Mapping[str, List[TopicSeries]]) -> str:
    """Which node's use_sim_time to set: receive times show the recorder's clock, header
    stamps on the other clock show publishers that run on another one."""
    recorder = [c for c, group in by_clock.items() if any(s.header_stamped < len(s.times_ns)
                                                          for s in group)]
    if len(recorder) != 1:
        return 'run every publisher with the same use_sim_time'
    other = SIM if recorder[0] == WALL else WALL
    topics = ', '.join(s.topic for s in by_clock[other])
    return (f'the recorder ran on {recorder[0]}: record with use_sim_time:='
            f'{str(other == SIM).lower()} (launch argument or recorder_node parameter), or run '
            f'the publishers of {topics} with use_sim_time:={str(other == WALL).lower()}')
