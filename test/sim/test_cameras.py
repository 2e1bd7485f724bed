"""Sim cameras on their own thread: frames at the rate in sim time, posed from snapshots."""
import threading

import numpy as np
import pytest

pytest.importorskip('mujoco')

from dil_ros.nodes.sim_node import VISION_MARKER  # noqa: E402
from dil_ros.sim.arm_sim import ArmSim  # noqa: E402
from dil_ros.sim.cameras import CameraError, CameraThread  # noqa: E402


class Frames:
    def __init__(self):
        self.got, self.lock, self.event = [], threading.Lock(), threading.Event()

    def __call__(self, name, rgb, clock):
        with self.lock:
            self.got.append((name, rgb, clock))
        self.event.set()

    def wait(self, n, timeout=20.0):
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            self.event.wait(0.05)
            self.event.clear()
        raise AssertionError(f'{len(self.got)} frames, expected {n}')


def cameras(sim, frames, names=('overview',), size=(64, 48), rate=10.0):
    cam = CameraThread(sim.model, names, *size, rate, frames)
    assert cam.ready.wait(20.0)
    if cam.error:
        cam.close()
        pytest.skip(cam.error)
    return cam


def test_frames_at_the_rate_in_sim_time_stamped_with_their_snapshot():
    sim, frames = ArmSim(), Frames()
    cam = cameras(sim, frames, names=('overview', 'top'))
    try:
        taken = []
        for _ in range(50):   # 1 s of sim time in 20 ms steps
            sim.run_for(0.02)
            if cam.maybe_snapshot(sim):
                taken.append(sim.clock)
                frames.wait(2 * len(taken))   # one snapshot at a time: none skipped here
        got = frames.wait(20)
    finally:
        cam.close()
    assert len(taken) == 10 and np.allclose(np.diff(taken), 0.1, atol=0.021)
    assert [n for n, _, _ in got[:4]] == ['overview', 'top', 'overview', 'top']
    assert [c for _, _, c in got[::2]] == taken
    for _, rgb, _ in got:
        assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    assert got[0][1].std() > 5   # a scene, not a blank frame
    assert cam.frames == 10 and 0 < np.median(cam.render_s) < 1.0


def test_the_goal_marker_moves_in_the_image():
    sim, frames = ArmSim(), Frames()
    sim.set_goal_marker(*VISION_MARKER)
    cam = cameras(sim, frames, names=('top',), size=(96, 96))
    try:
        sim.reset(1)
        cam.maybe_snapshot(sim)
        first = frames.wait(1)[0][1]
        sim.reset(2)
        cam.next_time = 0.0   # due again at once
        cam.maybe_snapshot(sim)
        second = frames.wait(2)[1][1]
    finally:
        cam.close()
    assert not np.allclose(sim.task.sample(1).goal, sim.task.sample(2).goal)

    def green(img):   # the marker: green well above red and blue
        g = img.astype(int)
        return (g[..., 1] > 150) & (g[..., 0] < 100) & (g[..., 2] < 100)
    a, b = np.argwhere(green(first)), np.argwhere(green(second))
    assert len(a) > 10 and len(b) > 10, (len(a), len(b))
    assert np.linalg.norm(a.mean(0) - b.mean(0)) > 3   # pixels


def test_unknown_camera_and_bad_sizes_are_named():
    sim = ArmSim()
    with pytest.raises(CameraError, match=r"camera_names: no camera 'wrist' in the arm model "
                                          r'\(cameras: overview, top\)'):
        CameraThread(sim.model, ['wrist'], 64, 48, 10.0, print)
    with pytest.raises(CameraError, match='camera_width, camera_height and camera_rate_hz'):
        CameraThread(sim.model, ['top'], 0, 48, 10.0, print)


def test_without_gl_the_cameras_say_why_and_the_sim_runs_on():
    """No GL (GLX without a display): one line saying why; snapshots are refused."""
    import os
    import subprocess
    import sys
    code = ('from dil_ros.sim.arm_sim import ArmSim\n'
            'from dil_ros.sim.cameras import CameraThread\n'
            'sim = ArmSim()\n'
            'errors = []\n'
            'cam = CameraThread(sim.model, ["top"], 64, 48, 10.0, print, errors.append)\n'
            'cam.ready.wait(20)\n'
            'sim.run_for(0.5)\n'
            'print(cam.maybe_snapshot(sim), len(errors), errors[0] if errors else "")\n')
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    env['MUJOCO_GL'] = 'glx'
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.startswith('False 1 cameras off: rendering unavailable ('), out
    assert out.stdout.rstrip().endswith('try MUJOCO_GL=egl or osmesa')
    assert out.stdout.count('\n') == 1
