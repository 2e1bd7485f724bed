"""PyAV encode/decode of camera frames (dil_ros.data.video)."""
import numpy as np
import pytest

from dil_ros.data import video


def moving_gradient(length, height=24, width=32, shift=0):
    """Smooth frames (what a camera sees), each a little different from the last."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([np.stack([(x * 4 + t * 3 + shift) % 256, (y * 5 + shift) % 256,
                               (x + y + t * 2) % 256], -1)
                     for t in range(length)]).astype(np.uint8)


def test_round_trip_within_the_lossy_codecs_tolerance(tmp_path):
    frames = moving_gradient(12)
    path = video.encode_frames(tmp_path / 'a.mp4', frames, fps=10.0)
    back = video.decode_frames(path)
    assert back.dtype == np.uint8 and back.shape == frames.shape
    error = np.abs(back.astype(int) - frames).mean()
    assert error < 4.0, error        # 0..255 units; measured 1.6 (AV1, CRF 30, yuv420p)
    np.testing.assert_array_equal(video.decode_frames(path, 3, 7), back[3:7])


@pytest.mark.parametrize('codec', video.CODECS)
def test_each_codec_round_trips(tmp_path, codec):
    if codec not in video.av.codecs_available:
        pytest.skip(f'{codec} not in this FFmpeg build')
    frames = moving_gradient(6, height=8, width=10)
    back = video.decode_frames(video.encode_frames(tmp_path / 'a.mp4', frames, 10.0, codec))
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 6.0
    odd = moving_gradient(6, height=7, width=9)
    if codec == 'libsvtav1':
        back = video.decode_frames(video.encode_frames(tmp_path / 'b.mp4', odd, 10.0, codec))
        assert back.shape == odd.shape
    else:
        with pytest.raises(video.VideoError, match='b.mp4: libx264 with yuv420p needs an even '
                                                   'height and width, got 7x9'):
            video.encode_frames(tmp_path / 'b.mp4', odd, 10.0, codec)


def test_info_as_lerobot_describes_it(tmp_path):
    path = video.encode_frames(tmp_path / 'a.mp4', moving_gradient(4), fps=10.0)
    info = video.video_info(path)
    assert info == {'video.height': 24, 'video.width': 32,
                    'video.codec': 'av1' if video.pick_codec() == 'libsvtav1' else 'h264',
                    'video.pix_fmt': 'yuv420p', 'video.is_depth_map': False, 'video.fps': 10,
                    'video.channels': 3, 'has_audio': False}


def test_errors_name_the_file(tmp_path):
    with pytest.raises(video.VideoError, match=r'b.mp4: video file not found'):
        video.decode_frames(tmp_path / 'b.mp4')
    with video.VideoWriter(tmp_path / 'c.mp4', 10.0, 24, 32) as writer:
        with pytest.raises(video.VideoError, match=r'c.mp4: frame 0 is uint8 \(24, 30, 3\), '
                                                   r'expected uint8 \(24, 32, 3\)'):
            writer.write(np.zeros((1, 24, 30, 3), np.uint8))
        writer.write(moving_gradient(2))
    with pytest.raises(video.VideoError, match=r'c.mp4: has 2 frames, 5 needed'):
        video.decode_frames(tmp_path / 'c.mp4', 0, 5)
    (tmp_path / 'd.mp4').write_bytes(b'not a video')
    with pytest.raises(video.VideoError, match=r'd.mp4: cannot decode'):
        video.decode_frames(tmp_path / 'd.mp4')
