"""Camera frames to MP4 and back with PyAV, as LeRobot 0.4.4 encodes its video features.

Codec: AV1 through SVT-AV1 (``libsvtav1``), ``yuv420p``, GOP 2, CRF 30: LeRobot's own defaults
(lerobot/datasets/video_utils.py ``encode_video_frames``), so our datasets decode wherever
LeRobot's do, and a keyframe every second frame keeps random access cheap. Where this FFmpeg
build lacks SVT-AV1, H.264 (``libx264``, same GOP and CRF) is the fallback; LeRobot accepts both.
Decoding uses whatever decoder FFmpeg picks (libdav1d or libaom for AV1).

The codec is lossy: frames come back close to, not equal to, the source (test/data/test_video.py
states the tolerance). Frames are uint8 RGB ``[H, W, 3]``; yuv420p samples colour at half
resolution: SVT-AV1 pads odd sizes itself, libx264 refuses them (a VideoError says so).
"""

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Optional, Union

import av
import numpy as np

from dil_ros.errors import DilRosError

PathLike = Union[str, Path]
PIX_FMT = 'yuv420p'
GOP = 2
CRF = 30
CODECS = ('libsvtav1', 'libx264')


class VideoError(DilRosError, ValueError):
    """A video cannot be written or read; the message names the file."""


def pick_codec() -> str:
    """The first of CODECS this PyAV/FFmpeg build can encode."""
    for name in CODECS:
        if name in av.codecs_available:
            return name
    raise VideoError(f'no video encoder available: this FFmpeg has none of {CODECS}')


def fps_fraction(fps: float) -> Fraction:
    """A frame rate as the exact fraction containers store (10.0 -> 10, 29.97 -> 2997/100)."""
    return Fraction(fps).limit_denominator(1001)


class VideoWriter:
    """Append uint8 RGB frames to one MP4 file; ``close()`` flushes it.

    Frame ``i`` of the file has presentation time ``i / fps``. ``bytes_written`` counts the
    packets muxed so far (the encoder holds back a look-ahead of some 30 frames).
    """

    def __init__(self, path: PathLike, fps: float, height: int, width: int,
                 codec: Optional[str] = None):
        self.path = Path(path)
        self.height, self.width = int(height), int(width)
        self.frames = 0
        self.bytes_written = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger('libav').setLevel(logging.ERROR)
        os.environ.setdefault('SVT_LOG', '1')   # SVT-AV1 prints its whole config otherwise
        codec = codec or pick_codec()
        if codec == 'libx264' and (self.height % 2 or self.width % 2):
            raise VideoError(f'{self.path}: libx264 with {PIX_FMT} needs an even height and '
                             f'width, got {self.height}x{self.width}')
        try:
            self._container = av.open(str(self.path), 'w')
            self._stream = self._container.add_stream(
                codec, rate=fps_fraction(fps),
                options={'g': str(GOP), 'crf': str(CRF)})
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError(f'{self.path}: cannot open for writing: {exc}') from None
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = PIX_FMT

    def write(self, frames: Iterable[np.ndarray]) -> None:
        for frame in frames:
            if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
                raise VideoError(f'{self.path}: frame {self.frames} is {frame.dtype} '
                                 f'{frame.shape}, expected uint8 ({self.height}, {self.width}, 3)')
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
            try:
                for packet in self._stream.encode(vf):
                    self.bytes_written += packet.size
                    self._container.mux(packet)
            except av.FFmpegError as exc:
                raise VideoError(f'{self.path}: cannot encode frame {self.frames}: {exc}'
                                 ) from None
            self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def encode_frames(path: PathLike, frames: np.ndarray, fps: float,
                  codec: Optional[str] = None) -> Path:
    """Write ``frames`` (uint8 ``[T, H, W, 3]``) as one MP4 at ``path``."""
    frames = np.asarray(frames)
    with VideoWriter(path, fps, frames.shape[1], frames.shape[2], codec) as writer:
        writer.write(frames)
    return Path(path)


def iter_frames(path: PathLike) -> Iterator[np.ndarray]:
    """Each frame of the file in order, as uint8 RGB ``[H, W, 3]`` (decoded as it is read)."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f'{path}: video file not found')
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams.video[0]):
                yield frame.to_ndarray(format='rgb24')
    except (av.FFmpegError, IndexError) as exc:
        raise VideoError(f'{path}: cannot decode: {exc}') from None


def decode_frames(path: PathLike, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
    """Frames ``start:stop`` (by position in the file) as uint8 RGB ``[N, H, W, 3]``.

    Decodes from the file's start and stops after ``stop``; with LeRobot's GOP of 2 a seek
    would save little for the episode-sized spans read here.
    """
    out = []
    for i, frame in enumerate(iter_frames(path)):
        if stop is not None and i >= stop:
            break
        if i >= start:
            out.append(frame)
    if stop is not None and len(out) < stop - start:
        raise VideoError(f'{path}: has {start + len(out)} frames, {stop} needed')
    if not out:
        info = video_info(path)
        return np.zeros((0, info['video.height'], info['video.width'], 3), np.uint8)
    return np.stack(out)


def video_info(path: PathLike) -> Dict[str, Any]:
    """info.json's ``info`` of a video feature, as LeRobot's ``get_video_info`` fills it."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            info = {
                'video.height': stream.height,
                'video.width': stream.width,
                'video.codec': stream.codec_context.codec.canonical_name
                if hasattr(stream.codec_context.codec, 'canonical_name')
                else stream.codec_context.name,
                'video.pix_fmt': stream.pix_fmt,
                'video.is_depth_map': False,
                'video.fps': int(stream.base_rate),
                'video.channels': 3,
                'has_audio': bool(container.streams.audio),
            }
    except (av.FFmpegError, IndexError) as exc:
        raise VideoError(f'{path}: cannot read video info: {exc}') from None
    return info
