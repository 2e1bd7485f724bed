"""Which episodes a run trains on and which it holds out for validation.

An episode spec is one of:

* ``all`` (train default: every episode not held out for validation) or ``none`` (validation
  default);
* indices and ranges, comma-separated: ``0:90``, ``:90``, ``90:``, ``0:40,45:100``, ``3,7,9``
  (a range is ``START:STOP``, STOP excluded, as in Python);
* a fraction in (0, 1): ``0.9`` = the first 90 % of the episodes for training; for validation
  ``0.1`` = the last 10 % (so ``--episodes 0.9 --val-episodes 0.1`` splits without overlap).

Specs are resolved against the dataset once, when a run starts; the checkpoint records the
resolved lists, so ``--resume`` keeps the same split.
"""
import math
from dataclasses import dataclass
from typing import List, Tuple

from dil_ros.errors import DilRosError


class EpisodeSpecError(DilRosError, ValueError):
    """An episode selection is malformed or does not fit the dataset; names the option."""


def check_spec(spec: str, where: str) -> str:
    """Validate the syntax of ``spec`` (without a dataset); returns it normalised."""
    spec = str(spec).strip()
    _parse(spec, 100, where, tail=False, check_range=False)
    return spec


def resolve(spec: str, n_episodes: int, where: str, tail: bool = False) -> List[int]:
    """Sorted episode indices (0-based positions in the dataset) that ``spec`` selects."""
    return _parse(str(spec).strip(), n_episodes, where, tail, check_range=True)


def _parse(spec: str, n: int, where: str, tail: bool, check_range: bool) -> List[int]:
    if spec in ('all', ''):
        return list(range(n))
    if spec == 'none':
        return []
    if ':' not in spec and ',' not in spec and '.' in spec:
        try:
            fraction = float(spec)
        except ValueError:
            raise EpisodeSpecError(f'{where}: {spec!r} is not a fraction') from None
        if not 0 < fraction < 1:
            raise EpisodeSpecError(f'{where}: a fraction must lie in (0, 1), got {spec}')
        count = max(1, int(math.floor(fraction * n + 0.5)))
        return list(range(n - count, n)) if tail else list(range(count))
    picked = set()
    for part in spec.split(','):
        lo, hi = _part(part.strip(), n, where)
        if check_range and not 0 <= lo < hi <= n:
            raise EpisodeSpecError(f'{where}: {part.strip()!r} is outside the dataset\'s '
                                   f'{n} episodes (0:{n})')
        picked.update(range(lo, hi))
    return sorted(picked)


def _part(part: str, n: int, where: str) -> Tuple[int, int]:
    try:
        if ':' in part:
            a, _, b = part.partition(':')
            lo = int(a) if a.strip() else 0
            hi = int(b) if b.strip() else n
            if lo < 0 or hi <= lo:
                raise ValueError
            return lo, hi
        i = int(part)
        if i < 0:
            raise ValueError
        return i, i + 1
    except ValueError:
        raise EpisodeSpecError(f"{where}: {part!r} is not an episode index or range (write "
                               "'0:90', '3,7,9' or a fraction such as 0.9)") from None


@dataclass(frozen=True)
class Split:
    """Episode positions used for training and for validation."""

    train: Tuple[int, ...]
    val: Tuple[int, ...]

    def to_mapping(self):
        return {'train': list(self.train), 'val': list(self.val)}


def make_split(n_episodes: int, train_spec: str, val_spec: str, source: str) -> Split:
    """Resolve both specs against a dataset of ``n_episodes``; they must not overlap."""
    train = resolve(train_spec, n_episodes, f'{source}: --episodes {train_spec}')
    val = resolve(val_spec, n_episodes, f'{source}: --val-episodes {val_spec}', tail=True)
    if train_spec in ('all', ''):     # the default: every episode not held out
        train = [i for i in train if i not in set(val)]
    both = sorted(set(train) & set(val))
    if both:
        raise EpisodeSpecError(f'{source}: --episodes {train_spec} and --val-episodes '
                               f'{val_spec} share episodes {_short(both)}')
    if not train:
        raise EpisodeSpecError(f'{source}: --episodes {train_spec} leaves no episode to train on')
    return Split(tuple(train), tuple(val))


def _short(items: List[int]) -> str:
    return str(items) if len(items) <= 6 else f'[{items[0]}, {items[1]}, ..., {items[-1]}]'
