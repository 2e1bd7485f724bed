"""The arm's MuJoCo cameras rendered offscreen on a thread of their own, for sim_node's images.

The physics thread only takes a snapshot (joint positions, goal, sim time: microseconds) when a
frame is due in sim time; this thread poses its own copy of the model from it and renders, so a
frame (about 5 ms at 96x96, 22 ms at 640x480 on a CPU with llvmpipe, shadows and reflections
off) never stalls stepping or /clock. When rendering falls behind, the newest snapshot wins and
older ones are skipped. Each frame carries the sim time of its snapshot.

Rendering needs a GL backend (``MUJOCO_GL``, EGL by default); where none works the thread ends,
``error`` says why and ``on_error`` is called once: the sim runs on without cameras.
"""
import copy
import os
import threading
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from dil_ros.errors import DilRosError
from dil_ros.sim.rendering import cheap_scene

Snapshot = Tuple[float, np.ndarray, np.ndarray]   # (sim time [s], qpos, goal position)


class CameraError(DilRosError):
    """Bad camera parameters; the message names the parameter and the model's cameras."""


def check_cameras(model, names: Sequence[str], width: int, height: int, rate_hz: float) -> None:
    """Raise CameraError naming ``camera_*`` parameters the model cannot serve."""
    import mujoco
    known = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
    for name in names:
        if name not in known:
            raise CameraError(f'camera_names: no camera {name!r} in the arm model '
                              f'(cameras: {", ".join(known)})')
    if width <= 0 or height <= 0 or rate_hz <= 0:
        raise CameraError(f'camera_width, camera_height and camera_rate_hz must be > 0, got '
                          f'{width}, {height}, {rate_hz}')


class CameraThread:
    """``maybe_snapshot(sim)`` from the physics thread; ``publish(name, rgb, sim_time)`` is
    called from this thread for every camera of each rendered snapshot."""

    def __init__(self, model, names: Sequence[str], width: int, height: int, rate_hz: float,
                 publish: Callable[[str, np.ndarray, float], None],
                 on_error: Optional[Callable[[str], None]] = None):
        check_cameras(model, names, width, height, rate_hz)
        self.names = tuple(names)
        self.size = (int(width), int(height))
        self.period = 1.0 / rate_hz
        self.next_time = 0.0
        self.frames = 0
        self.error = ''
        self.render_s = []   # seconds per rendered snapshot (all cameras), the newest 100
        self._model = copy.deepcopy(model)   # posed from snapshots; the sim's own is not touched
        self._publish, self._on_error = publish, on_error
        self._snapshot: Optional[Snapshot] = None
        self._wake = threading.Condition()
        self._stop = False
        self.ready = threading.Event()   # set once rendering works or has failed
        self._thread = threading.Thread(target=self._run, name='sim_cameras', daemon=True)
        self._thread.start()

    def maybe_snapshot(self, sim) -> bool:
        """Hand the thread the sim's state when a frame is due in sim time; True if taken."""
        if self.error or sim.clock + 1e-9 < self.next_time:
            return False
        self.next_time = sim.clock + self.period
        with self._wake:
            self._snapshot = (sim.clock, sim.data.qpos.copy(), sim.goal.copy())
            self._wake.notify()
        return True

    def _run(self) -> None:
        import time
        os.environ.setdefault('MUJOCO_GL', 'egl')
        try:
            import mujoco
            model = self._model
            model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.size[0])
            model.vis.global_.offheight = max(model.vis.global_.offheight, self.size[1])
            data = mujoco.MjData(model)
            renderer = mujoco.Renderer(model, height=self.size[1], width=self.size[0])
        except Exception as exc:  # noqa: BLE001 - any GL or import failure means 'no cameras'
            why = ' '.join(str(exc).split())   # one line, whatever the GL library said
            self.error = (f'cameras off: rendering unavailable ({type(exc).__name__}: {why}); '
                          'try MUJOCO_GL=egl or osmesa')
            self.ready.set()
            if self._on_error is not None:
                self._on_error(self.error)
            return
        goal_site = model.site('goal').id
        self.ready.set()
        try:
            while True:
                with self._wake:
                    while self._snapshot is None and not self._stop:
                        self._wake.wait()
                    if self._stop:
                        return
                    (clock, qpos, goal), self._snapshot = self._snapshot, None
                t = time.perf_counter()
                data.qpos[:] = qpos
                model.site_pos[goal_site] = goal
                mujoco.mj_forward(model, data)
                for name in self.names:
                    renderer.update_scene(data, camera=name)
                    cheap_scene(renderer)
                    self._publish(name, renderer.render(), clock)
                self.render_s = (self.render_s + [time.perf_counter() - t])[-100:]
                self.frames += 1
        finally:
            renderer.close()

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(2.0)
