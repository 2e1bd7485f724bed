"""Device input as plain events: what a gamepad or the keyboard is doing right now.

Input arrives as :class:`InputEvent` s (from pygame through :func:`from_pygame`, or synthetic in
tests) and is folded into an :class:`InputState`.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Set, Union


@dataclass(frozen=True)
class InputEvent:
    """One input change.

    kind: 'axis' (id: index, value in [-1, 1]), 'button' (id: index, value: pressed),
    'key' (id: pygame key name, value: pressed) or 'reset' (release everything).
    """

    kind: str
    id: Union[int, str] = 0
    value: float = 0.0


@dataclass
class InputState:
    axes: Dict[int, float] = field(default_factory=dict)
    buttons: Set[int] = field(default_factory=set)
    keys: Set[str] = field(default_factory=set)

    def apply(self, event: InputEvent) -> None:
        if event.kind == 'axis':
            self.axes[int(event.id)] = max(-1.0, min(1.0, float(event.value)))
        elif event.kind == 'button':
            (self.buttons.add if event.value else self.buttons.discard)(int(event.id))
        elif event.kind == 'key':
            (self.keys.add if event.value else self.keys.discard)(str(event.id))
        elif event.kind == 'reset':
            self.clear()
        else:
            raise ValueError(f'unknown input event kind {event.kind!r}')

    def clear(self) -> None:
        self.axes.clear()
        self.buttons.clear()
        self.keys.clear()


def from_pygame(event) -> Optional[InputEvent]:
    """Translate one pygame event (joystick or keyboard) into an InputEvent, or None."""
    import pygame
    if event.type == pygame.JOYAXISMOTION:
        return InputEvent('axis', event.axis, event.value)
    if event.type in (pygame.JOYBUTTONDOWN, pygame.JOYBUTTONUP):
        return InputEvent('button', event.button, float(event.type == pygame.JOYBUTTONDOWN))
    if event.type in (pygame.KEYDOWN, pygame.KEYUP):
        return InputEvent('key', pygame.key.name(event.key), float(event.type == pygame.KEYDOWN))
    if event.type in (pygame.JOYDEVICEREMOVED, pygame.WINDOWFOCUSLOST):
        return InputEvent('reset')
    return None
