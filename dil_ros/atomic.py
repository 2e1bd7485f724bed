"""Files that are either the old or the new content, never half-written (crash, full disk).

The new file gets the mode any other new file of the process gets (``0o666`` less the umask,
0644 typically), not ``tempfile.mkstemp``'s private 0600: a robot's service account must be able
to read a policy, checkpoint or index that another user wrote.
"""
from contextlib import contextmanager
import os
from pathlib import Path
from typing import Iterator, Union
import uuid


def _create(path: Path, suffix: str) -> Path:
    """A new empty file next to ``path``, created with mode 0o666 so that the kernel applies
    the umask (reading the umask itself would race with other threads)."""
    while True:
        tmp = path.parent / f'.{path.name}.{uuid.uuid4().hex[:12]}{suffix}'
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


@contextmanager
def atomic_file(path: Union[str, Path], suffix: str = '.tmp') -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, fsync it and
    ``os.replace`` it onto ``path``. On any error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create(path, suffix)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
