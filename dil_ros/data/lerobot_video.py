"""Video features of a LeRobot v3.0 dataset, laid out as LeRobot 0.4.4 writes them.

Checked against huggingface/lerobot src/lerobot/datasets (lerobot_dataset.py
``_save_episode_video``, utils.py, video_utils.py ``get_video_info``): each camera key has MP4
files at ``videos/<key>/chunk-XXX/file-XXX.mp4`` holding episodes back to back (a new file once one
passes ``video_files_size_in_mb``); meta/episodes rows give ``videos/<key>/chunk_index``,
``file_index``, ``from_timestamp`` and ``to_timestamp`` (seconds into that file); info.json
describes the feature as ``{dtype: video, shape: [H, W, 3], names: [height, width, channels], info:
{video.*}}`` and sets ``video_path``. The data parquet has no column for a video key. Image stats
are per channel in 0..1, shaped ``[3, 1, 1]`` (lerobot/datasets/compute_stats.py).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

from dil_ros.data import lerobot_format as fmt
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.stats import array_stats
from dil_ros.data.video import decode_frames, video_info, VideoError, VideoWriter

VIDEO_COLUMNS = ('chunk_index', 'file_index', 'from_timestamp', 'to_timestamp')


def video_feature(height: int, width: int) -> Dict[str, Any]:
    """A video feature as info.json describes it before its file exists (``info`` added later)."""
    return {'dtype': 'video', 'shape': [int(height), int(width), 3],
            'names': ['height', 'width', 'channels'], 'info': None}


def image_stats(frames: np.ndarray) -> Dict[str, np.ndarray]:
    """LeRobot's per-channel stats of uint8 frames ``[N, H, W, 3]``: values in 0..1, ``[3, 1, 1]``.

    Every pixel counts (LeRobot subsamples frames for speed; the numbers agree within sampling).
    """
    pixels = frames.reshape(-1, 3)
    step = max(1, pixels.shape[0] // 1_000_000)   # quantiles of a million pixels are plenty
    stats = array_stats(pixels[::step].astype(np.float32) / 255.0)
    stats['count'] = np.array([frames.shape[0]], dtype=np.int64)
    return {k: v if k == 'count' else v.reshape(3, 1, 1) for k, v in stats.items()}


class VideoFeatureWriter:
    """Writes one camera's episodes into ``videos/<key>/chunk-XXX/file-XXX.mp4`` files."""

    def __init__(self, root: Path, key: str, fps: float, height: int, width: int,
                 file_size_mb: float = fmt.DEFAULT_VIDEO_FILE_SIZE_IN_MB):
        self.root, self.key, self.fps = root, key, fps
        self.height, self.width = height, width
        self.file_size_mb = file_size_mb
        self.chunk, self.file_idx = 0, 0
        self.writer = None
        self.info: Dict[str, Any] = {}

    def _path(self) -> Path:
        return self.root / fmt.DEFAULT_VIDEO_PATH.format(
            video_key=self.key, chunk_index=self.chunk, file_index=self.file_idx)

    def add(self, frames: np.ndarray) -> Dict[str, Any]:
        """Append one episode's frames; returns its ``videos/<key>/...`` episode columns."""
        if self.writer is not None and self.writer.bytes_written > self.file_size_mb * 2**20:
            self._close()
            self.file_idx += 1
            if self.file_idx >= fmt.DEFAULT_CHUNK_SIZE:
                self.chunk, self.file_idx = self.chunk + 1, 0
        if self.writer is None:
            self.writer = VideoWriter(self._path(), self.fps, self.height, self.width)
        start = self.writer.frames
        try:
            self.writer.write(frames)
        except VideoError as exc:
            raise DatasetError(f'{self.key}: {exc}') from None
        prefix = f'videos/{self.key}/'
        return {prefix + 'chunk_index': self.chunk, prefix + 'file_index': self.file_idx,
                prefix + 'from_timestamp': start / self.fps,
                prefix + 'to_timestamp': self.writer.frames / self.fps}

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            if not self.info:
                self.info = video_info(self.writer.path)
            self.writer = None

    def finish(self) -> Dict[str, Any]:
        """Close the open file; returns the feature's ``info`` (LeRobot's get_video_info)."""
        self._close()
        return self.info


@dataclass(frozen=True)
class VideoSpan:
    """Where one episode's frames of one camera are: ``path``, frames ``start:start+length``."""

    episode_index: int
    path: Path
    start: int
    length: int


def video_spans(root: Path, info: Dict[str, Any], ep_rows: Sequence[Dict[str, Any]],
                key: str) -> List[VideoSpan]:
    """Each episode's span of camera ``key``, from the meta/episodes columns."""
    template = info.get('video_path') or fmt.DEFAULT_VIDEO_PATH
    fps = float(info['fps'])
    spans = []
    for row in ep_rows:
        cols = [f'videos/{key}/{c}' for c in VIDEO_COLUMNS]
        missing = [c for c in cols if row.get(c) is None]
        if missing:
            raise DatasetError(f'{root / fmt.EPISODES_DIR}: episode {row["episode_index"]}: '
                               f'missing column {missing[0]!r}')
        path = root / template.format(video_key=key, chunk_index=int(row[cols[0]]),
                                      file_index=int(row[cols[1]]))
        spans.append(VideoSpan(int(row['episode_index']), path,
                               int(round(float(row[cols[2]]) * fps)), int(row['length'])))
    return spans


def read_video_feature(root: Path, info: Dict[str, Any], ep_rows: Sequence[Dict[str, Any]],
                       key: str) -> Dict[int, np.ndarray]:
    """``{episode_index: uint8 [T, H, W, 3]}`` of camera ``key``; each file decoded once."""
    by_file: Dict[Path, List[VideoSpan]] = {}
    for span in video_spans(root, info, ep_rows, key):
        by_file.setdefault(span.path, []).append(span)
    out = {}
    for path, spans in by_file.items():
        stop = max(s.start + s.length for s in spans)
        try:
            frames = decode_frames(path, 0, stop)
        except VideoError as exc:
            raise DatasetError(f'{key}: {exc}') from None
        for s in spans:
            out[s.episode_index] = frames[s.start:s.start + s.length]
    return out
