"""rosbag2 recordings -> one LeRobot v3.0 dataset on the contract's policy grid.

Each bag is one episode, or several when it is split where the action and the measured state
disagree (:mod:`dil_ros.data.jumps`). A bag that cannot be converted is reported with one line
naming its file and topic and skipped; the others still convert. A bag whose topics are stamped
by two clocks (sim time and wall time) is such a bag (:mod:`dil_ros.data.clocks`).

Slow and latched observations: a key's last value is carried past its last message for its
contract ``max_age_s`` (``.inf`` for a topic published once), else for ``max_staleness_s``
(default 0.5 s, the policy node's default ``observation_timeout_s``): the node then refuses at run
time exactly the ages the converter refused, so a policy is never served an observation older
than any it was trained on. The action is a label and is never carried: an episode ends at its
last command.

Cameras: each grid instant takes the newest frame at or before it (frame indices, never a blend,
whatever the contract's ``sampling``), decoded from the bag's Image or CompressedImage message
(:mod:`dil_ros.data.bag_frames`) at the camera's native size; the dataset stores them as video.
"""

import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from dil_ros.contract import Contract
from dil_ros.data.bag_frames import read_frames
from dil_ros.data.bag_reader import ACTION_KEY, BagError, read_bag
from dil_ros.data.clocks import check_clocks
from dil_ros.data.episode import Episode
from dil_ros.data.jumps import find_jumps, ON_JUMP, split_at, state_error_bounds
from dil_ros.data.lerobot import check_writable, write_dataset
from dil_ros.data.resample import active_range, find_gaps, grid
from dil_ros.sampling import frame_indices, sample_series

DEFAULT_MAX_STALENESS_S = 0.5


@dataclass(frozen=True)
class ConvertOptions:
    """How bags become episodes. ``gap_threshold_s`` None means three grid periods.

    Observations are sampled by the contract's ``sampling`` rule (the node uses the same), so
    there is no option for it here. ``max_staleness_s``: how long an observation without a
    contract ``max_age_s`` is carried past its last message. ``on_jump``: split | drop | keep an
    episode where action and measured state disagree by more than ``max_state_error`` (None:
    the contract's bound, see :mod:`dil_ros.data.jumps`).
    """

    gap_threshold_s: Optional[float] = None
    trim_idle: bool = False
    idle_tolerance: float = 1e-4
    task: str = ''
    header_stamps: bool = True
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S
    on_jump: str = 'split'
    max_state_error: Optional[float] = None

    def __post_init__(self):
        if self.on_jump not in ON_JUMP:
            raise ValueError(f'on_jump must be one of {ON_JUMP}, got {self.on_jump!r}')


@dataclass
class BagResult:
    path: Path
    episodes: List[Episode] = field(default_factory=list)
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
        return [r for r in self.results if r.episodes]

    @property
    def skipped(self) -> List[BagResult]:
        return [r for r in self.results if not r.episodes]

    @property
    def messages(self) -> int:
        return sum(r.messages for r in self.results)

    def summary(self) -> str:
        episodes = [ep for r in self.converted for ep in r.episodes]
        lines = [f'converted {len(self.converted)} of {len(self.results)} bags '
                 f'({len(episodes)} episodes, {sum(len(ep) for ep in episodes)} frames, '
                 f'{self.messages} messages, {self.seconds:.1f} s)'
                 + (f' -> {self.out}' if self.out else '')]
        for r in self.results:
            lines.extend(f'  warning: {r.path}: {w}' for w in r.warnings)
        for r in self.skipped:
            lines.append(f'  skipped: {r.error}')
        return '\n'.join(lines)


def bag_to_episode(path: Path, contract: Contract, options: ConvertOptions = ConvertOptions(),
                   frame_dir: Optional[Path] = None) -> Tuple[Episode, List[str], int]:
    """``(episode, warnings, message_count)`` for one bag; BagError when it cannot convert.

    Camera frames are memory-mapped files in ``frame_dir`` where given, else in memory."""
    contract.require_topics('the converter')
    contents = read_bag(path, contract, header_stamps=options.header_stamps)
    series = contents.series
    check_clocks(path, series)
    hold_s = max_ages(contract, options)
    t0, at = grid({k: s.times_ns for k, s in series.items()}, contract.rate_hz,
                  {k: v * 1e9 for k, v in hold_s.items()})
    if len(at) < 2:
        raise BagError(f'{path}: topics {sorted({s.topic for s in series.values()})} overlap in '
                       f'time for less than one grid period ({contract.dt:.3f} s)')
    threshold = options.gap_threshold_s or 3.0 * contract.dt
    sampled: Dict[str, np.ndarray] = {}
    warnings: List[str] = []
    for key, s in series.items():
        t = s.times_ns - t0
        if key in contract.image_keys:   # message ordinals; frames are decoded below
            sampled[key] = s.values[frame_indices(t, at), 0].astype(np.int64)
        else:
            sampled[key] = sample_series(t, s.values, at, contract.sampling)
        last_s = min(t[-1], at[-1]) * 1e-9
        warnings.extend(str(g) for g in find_gaps(key, s.topic, t * 1e-9, threshold, 0.0,
                                                  last_s))
        carried = at[-1] * 1e-9 - last_s
        if carried > threshold and hold_s.get(key, 0.0) < float('inf'):
            warnings.append(f'topic {s.topic} ({key}): last message at t = {last_s:.3f} s, its '
                            f'value carried {carried:.3f} s to the end (bound '
                            f'{hold_s.get(key, 0.0):g} s)')
    lo, hi = 0, len(at)
    if options.trim_idle:
        lo, hi = active_range(sampled[ACTION_KEY], options.idle_tolerance)
        if hi - lo < 2:
            raise BagError(f'{path}: topic {contract.teleop.topic}: the action never changes '
                           '(nothing left after --trim-idle)')
    metadata: Dict[str, Any] = {'source': str(path), 'start_time_ns': int(t0 + at[lo]),
                                'gaps': len(warnings)}
    metadata.update(_parse_custom(contents.custom_data))
    observations = {k: sampled[k][lo:hi] for k in contract.observations}
    for key in contract.image_keys:
        observations[key] = read_frames(path, contract.observations[key], observations[key],
                                        frame_dir)
    episode = Episode(
        observations=observations,
        action=sampled[ACTION_KEY][lo:hi], timestamps=(at[lo:hi] - at[lo]) * 1e-9,
        task=options.task or str(metadata.get('task', '')), metadata=metadata)
    return episode, contents.warnings + warnings, contents.message_count


def max_ages(contract: Contract, options: ConvertOptions) -> Dict[str, float]:
    """Observation key -> seconds its last value is carried (the action: not at all)."""
    return {k: spec.max_age_s if spec.max_age_s is not None else options.max_staleness_s
            for k, spec in contract.observations.items()}


def check_jumps(episode: Episode, contract: Contract,
                options: ConvertOptions) -> Tuple[List[Episode], Optional[str]]:
    """``(episodes, report line)``: ``episode`` as ``options.on_jump`` makes of it, and the line
    naming the disagreeing frames and joints (None when every frame agrees)."""
    jumps = find_jumps(episode, contract, state_error_bounds(contract, options.max_state_error))
    if jumps is None or options.on_jump == 'keep':
        return [episode], None if jumps is None else jumps.describe(episode.timestamps) + ' (kept)'
    line = jumps.describe(episode.timestamps)
    if options.on_jump == 'drop':
        return [], f'{line} (--on-jump drop)'
    parts = split_at(episode, jumps.frames)
    return parts, (f'{line}: split into {len(parts)} episode{"s" * (len(parts) != 1)} '
                   f'({sum(map(len, parts))} frames)')


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
    """Convert each bag into an episode and write those that converted to ``out``.

    Camera frames wait in memory-mapped files in a folder beside ``out``, removed afterwards."""
    check_writable(out, overwrite)  # fail before the slow part
    start = time.perf_counter()
    frame_dir = Path(out).parent / f'.{Path(out).name}.frames-{uuid.uuid4().hex[:8]}'
    try:
        return _convert(expand_bag_paths(paths), contract, out, options, overwrite, progress,
                        frame_dir, start)
    finally:
        shutil.rmtree(frame_dir, ignore_errors=True)


def _convert(bags: List[Path], contract: Contract, out: Path, options: ConvertOptions,
             overwrite: bool, progress: bool, frame_dir: Path, start: float) -> ConvertReport:
    from tqdm import tqdm
    results: List[BagResult] = []
    for path in tqdm(bags, desc='convert', unit='bag', disable=not progress):
        try:
            episode, warnings, count = bag_to_episode(path, contract, options, frame_dir)
        except BagError as exc:
            results.append(BagResult(path, error=str(exc)))
            continue
        episodes, line = check_jumps(episode, contract, options)
        error = f'{path}: {line}' if not episodes else None
        results.append(BagResult(path, episodes, error, warnings + ([line] if line and episodes
                                                                    else []), count))
    episodes = [ep for r in results for ep in r.episodes]
    written = None
    if episodes:
        names = {key: spec.names for key, spec in contract.observations.items()
                 if not spec.is_image}
        names[ACTION_KEY] = list(contract.action.joints)
        written = write_dataset(out, episodes, fps=contract.rate_hz, names=names,
                                robot_type=contract.name, overwrite=overwrite)
    return ConvertReport(written, results, time.perf_counter() - start)
