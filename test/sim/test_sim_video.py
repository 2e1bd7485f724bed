"""Optional mp4 rendering: works where a GL backend does (MUJOCO_GL=egl/osmesa), else skips."""
import pytest

pytest.importorskip('mujoco')
imageio = pytest.importorskip('imageio')

from dil_ros.sim.arm_sim import ArmSim  # noqa: E402
from dil_ros.sim.video import VideoRecorder  # noqa: E402


def test_records_frames_at_fps(tmp_path):
    sim = ArmSim()
    path = tmp_path / 'episode.mp4'
    video, why = VideoRecorder.open(sim, str(path), fps=10.0, size=(160, 120))
    if video is None:
        pytest.skip(why)
    for _ in range(50):
        sim.run_for(0.02)
        video.maybe_capture(sim)
    video.close()
    assert video.frames == 10
    assert path.stat().st_size > 0
    assert len(imageio.mimread(str(path))) == 10


def test_unwritable_path_reports_why(tmp_path):
    video, why = VideoRecorder.open(ArmSim(), str(tmp_path / 'no' / 'dir' / 'x.mp4'))
    if video is not None:
        video.close()
        pytest.skip('writer created the file lazily')
    assert why


def test_inset_camera_in_the_top_right_corner(tmp_path):
    import numpy as np
    sim = ArmSim()
    frames = {}
    for inset in ('', 'top'):
        path = tmp_path / f'inset_{inset or "none"}.mp4'
        video, why = VideoRecorder.open(sim, str(path), fps=10.0, size=(240, 176), inset=inset)
        if video is None:
            pytest.skip(why)
        video.maybe_capture(sim)
        video.close()
        frames[inset] = imageio.mimread(str(path))[0].astype(int)
    plain, with_inset = frames[''], frames['top']
    assert plain.shape == with_inset.shape == (176, 240, 3)
    corner = np.abs(plain - with_inset)[2:60, -60:-2].mean()
    rest = np.abs(plain - with_inset)[70:, :150].mean()
    assert corner > 10 * max(rest, 0.5), (corner, rest)   # only the corner differs


def test_unknown_inset_camera_is_named(tmp_path):
    video, why = VideoRecorder.open(ArmSim(), str(tmp_path / 'x.mp4'), inset='wrist')
    assert video is None and "no camera 'wrist'" in why and 'overview' in why
