"""The demo's ``--name``: one folder under ``--runs`` that the demo may wipe and refill."""
from pathlib import Path

from dil_ros.errors import DilRosError

SEPARATORS = ('/', '\\', '\0')


class RunNameError(DilRosError):
    """A run name that would leave ``--runs`` (the demo deletes the run folder it writes to)."""


def run_folder(runs: Path, name: str) -> Path:
    """``runs / name`` for a plain folder name; a RunNameError for '', '.', '..' or separators."""
    if name in ('', '.', '..') or any(sep in name for sep in SEPARATORS):
        raise RunNameError(f'--name {name!r}: must be one folder name inside --runs '
                           "(no '/', '\\', '.' or '..')")
    return Path(runs) / name
