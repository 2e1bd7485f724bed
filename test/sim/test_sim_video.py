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
