"""sha256 digests that bind deployed files to each other.

* ``file_sha256``: the digest ``sha256sum`` prints; the policy node's ``policy_sha256`` pins
  policy.ts by it, and ``write_sha256_file`` writes it beside a file in ``sha256sum`` format
  (``sha256sum -c policy.ts.sha256`` checks it, run in the file's folder).
* ``archive_sha256``: the digest of a TorchScript or .pt2 archive's entries (name and bytes)
  leaving out ``dil_ros.json`` itself, so that a faster form can record the digest of its own
  code and weights inside its metadata, and a changed byte anywhere else is found again.
"""
import hashlib
from pathlib import Path
from typing import Union
import zipfile

from dil_ros.atomic import atomic_file

SIDECAR_SUFFIX = '.sha256'
# Left out of archive_sha256: the metadata that records the digest, and the random id torch
# writes into every archive (two saves of the same module differ only there).
_UNHASHED = ('extra/dil_ros.json', '.data/serialization_id')


def file_sha256(path: Union[str, Path]) -> str:
    """Hex sha256 of the file's bytes (what ``sha256sum`` prints)."""
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, 'sha256').hexdigest()


def sidecar_path(path: Union[str, Path]) -> Path:
    """policy.ts -> policy.ts.sha256."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_sha256_file(path: Union[str, Path]) -> str:
    """Write ``<hex>  <name>`` (``sha256sum`` format) to ``path``.sha256; returns the hex."""
    path = Path(path)
    digest = file_sha256(path)
    with atomic_file(sidecar_path(path)) as tmp:
        tmp.write_text(f'{digest}  {path.name}\n')
    return digest


def archive_sha256(path: Union[str, Path]) -> str:
    """Hex sha256 over a zip archive's entries in name order, each name (without the archive's
    top folder, which torch names after the file) and its bytes, leaving out ``_UNHASHED``.

    Raises zipfile.BadZipFile / OSError for an unreadable archive (callers name the file).
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        entries = {}
        for info in archive.infolist():
            name = info.filename.split('/', 1)[1] if '/' in info.filename else info.filename
            if not info.is_dir() and name not in _UNHASHED:
                entries[name] = info
        for name in sorted(entries):
            digest.update(f'{name}\0{entries[name].file_size}\0'.encode())
            with archive.open(entries[name]) as f:
                for block in iter(lambda: f.read(1 << 20), b''):
                    digest.update(block)
    return digest.hexdigest()
