"""Optional mp4 recording of the MuJoCo arm (offscreen rendering through MUJOCO_GL=egl or osmesa).

Rendering needs a GL backend; where none works, ``VideoRecorder.open`` returns None and says
why, and the caller logs it and carries on without video. ``inset`` names a second camera drawn
small in the top-right corner (what a vision policy sees, beside the overview).
"""

from typing import Optional, Tuple


class VideoRecorder:
    """Renders the sim's ``overview`` camera at ``fps`` (in sim time) into an mp4 file."""

    def __init__(self, renderer, writer, fps: float, camera: str, inset_renderer=None,
                 inset: str = ''):
        self._renderer, self._writer = renderer, writer
        self._inset_renderer, self.inset = inset_renderer, inset
        self.period = 1.0 / fps
        self.camera = camera
        self.next_time = 0.0
        self.frames = 0

    @classmethod
    def open(cls, sim, path: str, fps: float = 30.0, size: Tuple[int, int] = (480, 360),
             camera: str = 'overview', inset: str = ''
             ) -> Tuple[Optional['VideoRecorder'], str]:
        """(recorder, '') or (None, reason)."""
        renderers = []
        try:
            import imageio
            import mujoco
            if inset:
                sim.model.camera(inset)   # KeyError naming it when the model has no such camera
            renderers.append(mujoco.Renderer(sim.model, height=size[1], width=size[0]))
            if inset:
                side = size[1] // 3
                renderers.append(mujoco.Renderer(sim.model, height=side, width=side))
        except KeyError as exc:
            return None, f'no camera {inset!r} in the model for the inset ({exc})'
        except Exception as exc:  # noqa: BLE001 - any GL failure means 'no video'
            for renderer in renderers:
                renderer.close()
            return None, f'rendering unavailable ({type(exc).__name__}: {exc})'
        try:
            writer = imageio.get_writer(path, fps=fps, codec='libx264', macro_block_size=8)
        except Exception as exc:  # noqa: BLE001
            for renderer in renderers:
                renderer.close()
            return None, f'cannot write {path} ({type(exc).__name__}: {exc})'
        return cls(renderers[0], writer, fps, camera, *renderers[1:], inset=inset), ''

    def maybe_capture(self, sim) -> None:
        """Capture a frame when the sim clock has passed the next frame time."""
        if sim.clock + 1e-9 < self.next_time:
            return
        self.next_time = sim.clock + self.period
        self._renderer.update_scene(sim.data, camera=self.camera)
        frame = self._renderer.render()
        if self._inset_renderer is not None:
            self._inset_renderer.update_scene(sim.data, camera=self.inset)
            small = self._inset_renderer.render()
            h, w = small.shape[:2]
            frame[2:h + 2, -w - 2:-2] = small   # a 2-pixel margin, top right
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for renderer in (self._renderer, self._inset_renderer):
            if renderer is not None:
                renderer.close()
        self._renderer = self._inset_renderer = None
