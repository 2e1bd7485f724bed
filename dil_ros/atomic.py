"""Files that are either the old or the new content, never half-written (crash, full disk)."""
from contextlib import contextmanager
import os
from pathlib import Path
import tempfile
from typing import Iterator, Union


@contextmanager
def atomic_file(path: Union[str, Path], suffix: str = '.tmp') -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, fsync it and
    ``os.replace`` it onto ``path``. On any error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
