"""SceneView renders the MuJoCo arm at the measured joints (skips where no GL works)."""
import time

import numpy as np
import pytest

pytest.importorskip('mujoco')

from dil_ros.sim.task import JOINT_NAMES, ReachAroundTask  # noqa: E402
from dil_ros.teleop.view import SceneView  # noqa: E402


def wait_frame(view, timeout=20.0):
    end = time.monotonic() + timeout
    while view.frame is None and time.monotonic() < end:
        if view.note.startswith('no live view'):
            pytest.skip(view.note)
        time.sleep(0.05)
    assert view.frame is not None, view.note
    return view.frame


def test_view_follows_the_joints():
    ep = ReachAroundTask().sample(0)
    view = SceneView(rate_hz=50.0, size=(160, 120))
    try:
        view.update(dict(zip(JOINT_NAMES, ep.q0)), ep.goal)
        first = wait_frame(view)
        assert first.shape == (120, 160, 3) and first.dtype == np.uint8
        assert first.mean() > 30  # lit scene, not a black image
        view.frame = None
        view.update(dict(zip(JOINT_NAMES, (ep.q0[0] + 1.5, ep.q0[1], ep.q0[2]))), ep.goal)
        moved = wait_frame(view)
        assert np.abs(moved.astype(int) - first).sum() > 1000  # the arm is drawn elsewhere
    finally:
        view.close()


def test_without_gl_the_view_says_why():
    """No GL (GLX without a display): no frame, and a note the window shows instead."""
    import os
    import subprocess
    import sys
    code = ('import time\n'
            'from dil_ros.teleop.view import SceneView\n'
            'v = SceneView(rate_hz=10.0)\n'
            'end = time.monotonic() + 20\n'
            'while not v.note.startswith("no live view") and time.monotonic() < end:\n'
            '    time.sleep(0.05)\n'
            'print(v.frame is None, v.note, "|", v.error)\n')
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    env['MUJOCO_GL'] = 'glx'
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.startswith('True no live view: no OpenGL; try MUJOCO_GL=egl or osmesa | '
                                 'rendering unavailable ('), out.stdout
