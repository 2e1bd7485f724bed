"""Optional mp4 recording of the MuJoCo arm (offscreen rendering through MUJOCO_GL=egl or osmesa).

Rendering needs a GL backend; where none works, ``VideoRecorder.open`` returns None and says
why, and the caller logs it and carries on without video.
"""

from typing import Optional, Tuple


class VideoRecorder:
    """Renders the sim's ``overview`` camera at ``fps`` (in sim time) into an mp4 file."""

    def __init__(self, renderer, writer, fps: float, camera: str):
        self._renderer, self._writer = renderer, writer
        self.period = 1.0 / fps
        self.camera = camera
        self.next_time = 0.0
        self.frames = 0

    @classmethod
    def open(cls, sim, path: str, fps: float = 30.0, size: Tuple[int, int] = (480, 360),
             camera: str = 'overview') -> Tuple[Optional['VideoRecorder'], str]:
        """(recorder, '') or (None, reason)."""
        try:
            import imageio
            import mujoco
            renderer = mujoco.Renderer(sim.model, height=size[1], width=size[0])
        except Exception as exc:  # noqa: BLE001 - any GL failure means 'no video'
            return None, f'rendering unavailable ({type(exc).__name__}: {exc})'
        try:
            writer = imageio.get_writer(path, fps=fps, codec='libx264', macro_block_size=8)
        except Exception as exc:  # noqa: BLE001
            renderer.close()
            return None, f'cannot write {path} ({type(exc).__name__}: {exc})'
        return cls(renderer, writer, fps, camera), ''

    def maybe_capture(self, sim) -> None:
        """Capture a frame when the sim clock has passed the next frame time."""
        if sim.clock + 1e-9 < self.next_time:
            return
        self.next_time = sim.clock + self.period
        self._renderer.update_scene(sim.data, camera=self.camera)
        self._writer.append_data(self._renderer.render())
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
