"""The teleop window (pygame): the live view of the scene on the left, the overlay on the right.

The keyboard device reads its keys from this window, so it must have the focus. With
``SDL_VIDEODRIVER=dummy`` (tests) it draws into memory.
"""
from typing import Optional, Sequence

import numpy as np

from dil_ros.teleop.overlay import Line

COLOURS = {'green': (80, 220, 100), 'red': (240, 80, 70), 'grey': (150, 150, 160),
           'white': (235, 235, 235), 'yellow': (240, 200, 80)}
BACKGROUND = (28, 30, 36)
KEY_COLUMN = 70  # px from the panel's left edge to the key map's second column


class TeleopWindow:

    def __init__(self, view_size=(480, 360), panel_width=420, title='dil_ros teleop'):
        import pygame
        self.pygame = pygame
        self.view_size, self.panel = tuple(view_size), panel_width
        height = max(self.view_size[1], 400)
        self.surface = pygame.display.set_mode((self.view_size[0] + panel_width, height))
        pygame.display.set_caption(title)
        pygame.font.init()
        self.font = pygame.font.Font(None, 22)

    def draw(self, frame: Optional[np.ndarray], lines: Sequence[Line]) -> None:
        """``frame``: an RGB image (H, W, 3) uint8 scaled into the view area, or None."""
        pg = self.pygame
        self.surface.fill(BACKGROUND)
        w, h = self.view_size
        if frame is not None:
            image = pg.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
            self.surface.blit(pg.transform.smoothscale(image, (w, h)), (0, 0))
        else:
            pg.draw.rect(self.surface, (10, 10, 12), (0, 0, w, h))
        y = 8
        for text, colour in lines:
            first, _, second = text.partition('\t')
            x = w + 12
            for part, at in ((first, x), (second, x + KEY_COLUMN)):
                if part:
                    self.surface.blit(self.font.render(self.fit(part, w + self.panel - at),
                                                       True, COLOURS[colour]), (at, y))
            y += 20
        pg.display.flip()

    def fit(self, text: str, width: int) -> str:
        """``text``, cut with an ellipsis where it would run past ``width`` pixels."""
        if self.font.size(text)[0] <= width - 8:
            return text
        while text and self.font.size(text + '...')[0] > width - 8:
            text = text[:-1]
        return text + '...'

    def pixel(self, x: int, y: int):
        """The colour drawn at (x, y) (tests)."""
        return tuple(self.surface.get_at((x, y)))[:3]
