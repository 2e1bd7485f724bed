"""Live view of the MuJoCo scene for the operator, rendered offscreen from the measured joints.

The teleop process renders its own view of the sim's model (dil_ros/sim/assets/arm.xml) from
``/joint_states`` and ``/task/goal`` rather than taking images from ``sim_node``: rendering would
stall the sim's stepping, and no image stream crosses DDS. A 320x240 frame costs about 13 ms on a
CPU (llvmpipe) with shadows and reflections off (58 ms with them). A thread of its own owns the GL
context (EGL by default: ``MUJOCO_GL``). Where no GL works, ``note`` says why and the window shows
it instead of a picture.
"""
import os
import threading
from typing import Mapping, Optional, Sequence

import numpy as np


class SceneView:
    """``update(positions, goal)`` from the node; ``frame`` is the newest RGB image or None."""

    def __init__(self, rate_hz: float, size=(320, 240), camera: str = 'overview'):
        self.period = 1.0 / rate_hz
        self.size, self.camera = tuple(size), camera
        self.frame: Optional[np.ndarray] = None
        self.note = 'starting the view ...'   # one short line for the window
        self.error = ''                         # why there is no view, in full (for the log)
        self._positions: Optional[Mapping[str, float]] = None
        self._goal: Optional[Sequence[float]] = None
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='scene_view', daemon=True)
        self._thread.start()

    def update(self, positions: Optional[Mapping[str, float]],
               goal: Optional[Sequence[float]]) -> None:
        self._positions, self._goal = positions, goal
        self._dirty.set()

    def _run(self) -> None:
        os.environ.setdefault('MUJOCO_GL', 'egl')
        try:
            import mujoco

            from dil_ros.sim.arm_sim import default_model_path
            from dil_ros.sim.rendering import cheap_scene
            from dil_ros.sim.task import JOINT_NAMES
            model = mujoco.MjModel.from_xml_path(str(default_model_path()))
            data = mujoco.MjData(model)
            renderer = mujoco.Renderer(model, height=self.size[1], width=self.size[0])
        except Exception as exc:  # noqa: BLE001 - any GL or import failure means 'no view'
            self.error = f'rendering unavailable ({type(exc).__name__}: {exc})'
            self.note = 'no live view: no OpenGL; try MUJOCO_GL=egl or osmesa'
            return
        qadr = {j: model.joint(j).qposadr[0] for j in JOINT_NAMES}
        goal_site = model.site('goal').id
        self.note = 'view: waiting for /joint_states'
        try:
            while not self._stop.is_set():
                if not self._dirty.wait(0.2):
                    continue
                self._dirty.clear()
                positions, goal = self._positions, self._goal
                for joint, adr in qadr.items():
                    if positions and joint in positions:
                        data.qpos[adr] = positions[joint]
                if goal is not None:
                    model.site_pos[goal_site] = goal
                mujoco.mj_forward(model, data)  # kinematics alone leaves the camera unset
                renderer.update_scene(data, camera=self.camera)
                cheap_scene(renderer)   # 13 ms a frame on a CPU instead of 58
                self.frame = renderer.render().copy()
                self.note = ''
                self._stop.wait(self.period)
        finally:
            renderer.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
