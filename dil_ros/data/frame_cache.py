"""Camera frames decoded once into a uint8 memory-mapped file, at the policy's input size.

Training reads a camera's frames many times per epoch; decoding AV1 each time would cost more
than the network. :func:`cache_frames` decodes each video file of a dataset's camera once,
resizes the frames to the contract's (height, width) with the model's own resize
(:func:`dil_ros.policy.vision_preprocess.resize_frames`, so the resize inside policy.ts is a
no-op on them) and writes them, all episodes back to back in dataset order, to
``<dir>/<key>-<height>x<width>-<digest>.npy`` (a numpy ``.npy`` file opened with ``mmap_mode``).
``<dir>`` defaults to ``<dataset>/.cache/frames``; where the dataset is read-only (a shared or
downloaded copy), to ``$XDG_CACHE_HOME/dil_ros/frames/<hash of the dataset's path>`` (``~/.cache``
without XDG_CACHE_HOME). The digest covers the video files (names,
sizes, modification times), the episodes' spans and the size, so a changed dataset gets a new
file; an existing file is reused without decoding. Written to a temporary name and renamed, so a
crash leaves no half cache.
"""

import hashlib
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np

from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.lerobot_meta import read_episode_rows, read_info
from dil_ros.data.lerobot_video import video_spans
from dil_ros.data.video import iter_frames, VideoError

PathLike = Union[str, Path]
Resize = Callable[[np.ndarray, int, int], np.ndarray]
_BATCH = 64   # frames resized at once
LOG = logging.getLogger(__name__)


@dataclass
class FrameCache:
    """One camera's frames: ``frames`` uint8 ``[N, height, width, 3]`` (memory-mapped) and
    ``episodes`` ``{episode_index: (start, length)}`` into it; ``size_bytes`` on disk."""

    path: Path
    frames: np.ndarray
    episodes: Dict[int, Tuple[int, int]]
    size_bytes: int
    reused: bool

    def episode(self, index: int) -> np.ndarray:
        start, length = self.episodes[index]
        return self.frames[start:start + length]


def cache_frames(root: PathLike, key: str, height: int, width: int,
                 cache_dir: Optional[PathLike] = None,
                 resize: Optional[Resize] = None) -> FrameCache:
    """Decode camera ``key`` of the dataset at ``root`` once into a uint8 memmap (see module)."""
    root = Path(root)
    info = read_info(root)
    feature = info['features'].get(key)
    if not feature or feature.get('dtype') != 'video':
        raise DatasetError(f'{root / "meta/info.json"}: no video feature {key!r}')
    spans = video_spans(root, info, read_episode_rows(root), key)
    name = f'{key}-{height}x{width}-{_digest(spans, height, width)}.npy'
    folder = Path(cache_dir) if cache_dir else _default_folder(root, name)
    path = folder / name
    index, start = {}, 0
    for span in spans:
        index[span.episode_index] = (start, span.length)
        start += span.length
    reused = path.is_file()
    if not reused:
        folder.mkdir(parents=True, exist_ok=True)
        _write(path, spans, start, height, width, resize or _model_resize(), key)
    frames = np.load(path, mmap_mode='r')
    if frames.shape != (start, height, width, 3):
        raise DatasetError(f'{path}: holds {frames.shape}, expected {(start, height, width, 3)} '
                           '(delete it to decode again)')
    size = path.stat().st_size
    LOG.info('%s: %s frame cache %s: %d frames, %d bytes', root, key,
             'reused' if reused else 'written', start, size)
    return FrameCache(path, frames, index, size, reused)


def _default_folder(root: Path, name: str) -> Path:
    """``<root>/.cache/frames`` where it holds ``name`` or can be written; else the user's cache."""
    inside = root / '.cache' / 'frames'
    if (inside / name).is_file():
        return inside
    try:
        inside.mkdir(parents=True, exist_ok=True)
        if os.access(inside, os.W_OK):
            return inside
    except OSError:
        pass
    base = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache')
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    folder = base / 'dil_ros' / 'frames' / tag
    LOG.info('%s is read-only: frame cache in %s', root, folder)
    return folder


def _model_resize() -> Resize:
    from dil_ros.policy.vision_preprocess import resize_frames
    return resize_frames


def _digest(spans, height: int, width: int) -> str:
    h = hashlib.sha256(f'{height}x{width}'.encode())
    for path in sorted({s.path for s in spans}):
        st = path.stat() if path.is_file() else None
        h.update(f'{path.name}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1}'
                 .encode())
    h.update(json.dumps([(s.episode_index, str(s.path.name), s.start, s.length)
                         for s in spans]).encode())
    return h.hexdigest()[:16]


def _write(path: Path, spans, total: int, height: int, width: int, resize: Resize,
           key: str) -> None:
    tmp = path.with_name(f'.{path.name}.{uuid.uuid4().hex[:8]}.tmp')
    out = np.lib.format.open_memmap(tmp, mode='w+', dtype=np.uint8,
                                    shape=(total, height, width, 3))
    try:
        by_file: Dict[Path, list] = {}
        position = 0
        for span in spans:      # each span's place in the cache, grouped by the file it is in
            by_file.setdefault(span.path, []).append((span, position))
            position += span.length
        for file, placed in by_file.items():
            _decode_file(file, placed, out, height, width, resize, key)
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _decode_file(file: Path, placed, out: np.ndarray, height: int, width: int,
                 resize: Resize, key: str) -> None:
    """Decode ``file`` once; each frame a span needs goes, resized, to its cache rows."""
    targets: Dict[int, list] = {}
    for span, position in placed:
        for i in range(span.length):
            targets.setdefault(span.start + i, []).append(position + i)
    last = max(targets)
    batch, rows = [], []

    def flush():
        if batch:
            resized = resize(np.stack(batch), height, width)
            for frame, row in zip(resized, rows):
                out[row] = frame
            batch.clear()
            rows.clear()

    i = -1
    try:
        for i, frame in enumerate(iter_frames(file)):
            if i > last:
                break
            for row in targets.get(i, ()):
                batch.append(frame)
                rows.append(row)
            if len(batch) >= _BATCH:
                flush()
    except VideoError as exc:
        raise DatasetError(f'{key}: {exc}') from None
    if i < last:
        raise DatasetError(f'{key}: {file}: has {i + 1} frames, the episodes need {last + 1}')
    flush()
