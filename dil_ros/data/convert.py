"""rosbag2 recordings -> one LeRobot v3.0 dataset on the contract's policy grid.

Each bag is one episode. A bag that cannot be converted is reported with one line naming its
file and topic and skipped; the others still convert.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from dil_ros.contract import Contract
from dil_ros.data.bag_reader import ACTION_KEY, BagError, read_bag
from dil_ros.data.episode import Episode
from dil_ros.data.lerobot import check_writable, write_dataset
from dil_ros.data.resample import active_range, find_gaps, grid
from dil_ros.sampling import sample_series


@dataclass(frozen=True)
class ConvertOptions:
    """How bags become episodes. ``gap_threshold_s`` None means three grid periods.

    Observations are sampled by the contract's ``sampling`` rule (the node uses the same), so
    there is no option for it here.
    """

    gap_threshold_s: Optional[float] = None
    trim_idle: bool = False
    idle_tolerance: float = 1e-4
    task: str = ''
    header_stamps: bool = True


@dataclass
class BagResult:
    path: Path
    episode: Optional[Episode] = None
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    messages: int = 0


@dataclass
class ConvertReport:
    out: Optional[Path]
    results: List[BagResult]
    seconds: float

    @property
    def converted(self) -> List[BagResult]:
        return [r for r in self.results if r.episode is not None]

    @property
    def skipped(self) -> List[BagResult]:
        return [r for r in self.results if r.episode is None]

    @property
    def messages(self) -> int:
        return sum(r.messages for r in self.results)

    def summary(self) -> str:
        lines = [f'converted {len(self.converted)} of {len(self.results)} bags '
                 f'({sum(len(r.episode) for r in self.converted)} frames, {self.messages} '
                 f'messages, {self.seconds:.1f} s)' + (f' -> {self.out}' if self.out else '')]
        for r in self.results:
            lines.extend(f'  warning: {r.path}: {w}' for w in r.warnings)
        for r in self.skipped:
            lines.append(f'  skipped: {r.error}')
        return '\n'.join(lines)


def bag_to_episode(path: Path, contract: Contract,
                   options: ConvertOptions = ConvertOptions()) -> Tuple[Episode, List[str], int]:
    """``(episode, warnings, message_count)`` for one bag; BagError when it cannot convert."""
    contract.require_topics('the converter')
    contents = read_bag(path, contract, header_stamps=options.header_stamps)
    series = contents.series
    t0, at = grid({k: s.times_ns for k, s in series.items()}, contract.rate_hz)
    if len(at) < 2:
        raise BagError(f'{path}: topics {sorted({s.topic for s in series.values()})} overlap in '
                       f'time for less than one grid period ({contract.dt:.3f} s)')
    threshold = options.gap_threshold_s or 3.0 * contract.dt
    sampled: Dict[str, np.ndarray] = {}
    warnings: List[str] = []
    for key, s in series.items():
        t = s.times_ns - t0
        sampled[key] = sample_series(t, s.values, at, contract.sampling)
        warnings.extend(str(g) for g in find_gaps(key, s.topic, t * 1e-9, threshold, 0.0,
                                                  at[-1] * 1e-9))
    lo, hi = 0, len(at)
    if options.trim_idle:
        lo, hi = active_range(sampled[ACTION_KEY], options.idle_tolerance)
        if hi - lo < 2:
            raise BagError(f'{path}: topic {contract.teleop.topic}: the action never changes '
                           '(nothing left after --trim-idle)')
    metadata: Dict[str, Any] = {'source': str(path), 'start_time_ns': int(t0 + at[lo]),
                                'gaps': len(warnings)}
    metadata.update(_parse_custom(contents.custom_data))
    episode = Episode(
        observations={k: sampled[k][lo:hi] for k in contract.observations},
        action=sampled[ACTION_KEY][lo:hi], timestamps=(at[lo:hi] - at[lo]) * 1e-9,
        task=options.task or str(metadata.get('task', '')), metadata=metadata)
    return episode, contents.warnings + warnings, contents.message_count


def _parse_custom(custom: Dict[str, Any]) -> Dict[str, Any]:
    """rosbag2 custom_data values are strings; turn 'true'/'false' into booleans."""
    out = {}
    for k, v in custom.items():
        if isinstance(v, str) and v.lower() in ('true', 'false'):
            v = v.lower() == 'true'
        out[str(k)] = v
    return out


def expand_bag_paths(paths: Iterable[Path]) -> List[Path]:
    """Bag directories and storage files as given; a folder of bag folders expands to them."""
    out: List[Path] = []
    for p in map(Path, paths):
        subs = sorted(d for d in p.iterdir() if (d / 'metadata.yaml').is_file()) \
            if p.is_dir() and not (p / 'metadata.yaml').exists() else []
        out.extend(subs or [p])
    return out


def convert_bags(paths: Iterable[Path], contract: Contract, out: Path,
                 options: ConvertOptions = ConvertOptions(), overwrite: bool = False,
                 progress: bool = True) -> ConvertReport:
    """Convert each bag into an episode and write those that converted to ``out``."""
    from tqdm import tqdm
    check_writable(out, overwrite)  # fail before the slow part
    start = time.perf_counter()
    bags = expand_bag_paths(paths)
    results: List[BagResult] = []
    for path in tqdm(bags, desc='convert', unit='bag', disable=not progress):
        try:
            episode, warnings, count = bag_to_episode(path, contract, options)
            results.append(BagResult(path, episode, None, warnings, count))
        except BagError as exc:
            results.append(BagResult(path, error=str(exc)))
    episodes = [r.episode for r in results if r.episode is not None]
    written = None
    if episodes:
        names = {key: spec.names for key, spec in contract.observations.items()}
        names[ACTION_KEY] = list(contract.action.joints)
        written = write_dataset(out, episodes, fps=contract.rate_hz, names=names,
                                robot_type=contract.name, overwrite=overwrite)
    return ConvertReport(written, results, time.perf_counter() - start)
