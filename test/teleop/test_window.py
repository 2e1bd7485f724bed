"""The teleop window draws the live view and the overlay (SDL dummy driver: no display)."""
import numpy as np
import pytest

pygame = pytest.importorskip('pygame')


@pytest.fixture
def window(monkeypatch):
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    from dil_ros.teleop.window import TeleopWindow
    pygame.display.init()
    yield TeleopWindow(view_size=(160, 120), panel_width=300)
    pygame.quit()


def test_frame_and_text_are_drawn(window):
    frame = np.zeros((60, 80, 3), np.uint8)
    frame[:, :40] = (255, 0, 0)  # left half red, right half blue: orientation kept when scaled
    frame[:, 40:] = (0, 0, 255)
    window.draw(frame, [('DEAD-MAN HELD', 'green')])
    assert window.pixel(10, 60) == (255, 0, 0)
    assert window.pixel(150, 60) == (0, 0, 255)
    text = [window.pixel(x, y) for x in range(172, 300) for y in range(8, 24)]
    assert (80, 220, 100) in text  # the line is written in green on the panel


def test_long_lines_are_cut_to_the_panel(window):
    assert window.fit('short', 300) == 'short'
    cut = window.fit('recording episode_0001 in /a/very/long/session/path/' * 3, 300)
    assert cut.endswith('...') and window.font.size(cut)[0] <= 300


def test_no_frame_leaves_a_dark_view(window):
    window.draw(None, [])
    assert window.pixel(80, 60) == (10, 10, 12)
