"""Episode controls: the operator starts, keeps, discards and marks episodes from the device.

``episode_keys`` entries are ``'action:key'`` (pygame key names), ``episode_buttons`` entries
``'action:button'`` (joystick button numbers); the actions are :data:`ACTIONS`. A key or button
does one thing only: it must differ from the dead-man and the joints' keys.
"""
from typing import Dict, Iterable, List, Sequence, Union

from dil_ros.errors import DilRosError
from dil_ros.teleop.inputs import InputEvent

ACTIONS = {  # action: what the window says it does
    'start': 'new episode: reset the sim, record',
    'stop': 'stop and keep the episode',
    'discard': 'stop and throw the episode away',
    'success': 'mark the episode a success',
    'failure': 'mark the episode a failure',
}
DEFAULT_KEYS = ('start:return', 'stop:k', 'discard:x', 'success:m', 'failure:n')
# SDL's numbering for Xbox-style pads: A 0, B 1, X 2, Y 3, Back 6, Start 7.
DEFAULT_BUTTONS = ('start:7', 'stop:0', 'discard:1', 'success:3', 'failure:2')


class KeyBindingError(DilRosError, ValueError):
    """An episode key or button binding that is malformed or clashes with another."""


def parse_bindings(entries: Sequence[str], taken: Iterable[Union[str, int]],
                   param: str = 'episode_keys') -> Dict[Union[str, int], str]:
    """``['start:return', ...]`` -> {key: action} (``episode_buttons``: {button number: action});
    ``taken``: keys or buttons already used for driving."""
    taken = set(taken)
    out: Dict[Union[str, int], str] = {}
    for entry in entries:
        action, sep, key = str(entry).partition(':')
        what = 'button' if param == 'episode_buttons' else 'key'
        if not sep or not key or action not in ACTIONS or (
                what == 'button' and not key.isdigit()):
            raise KeyBindingError(f'{param}: {entry!r}: expected action:{what} with action one '
                                  f'of {", ".join(ACTIONS)}')
        key = int(key) if what == 'button' else key
        if key in taken or key in out:
            raise KeyBindingError(f'{param}: {entry!r}: {what} {key!r} is already bound')
        out[key] = action
    return out


def parse_episode_keys(entries: Sequence[str], taken: Iterable[str]) -> Dict[str, str]:
    return parse_bindings(entries, taken, 'episode_keys')


def pressed_actions(events: Iterable[InputEvent], keys: Dict[str, str],
                    buttons: Dict[int, str] = None) -> List[str]:
    """The episode actions whose keys or buttons went down in ``events``, in order."""
    buttons = buttons or {}
    out = []
    for e in events:
        if e.kind == 'key' and e.value and e.id in keys:
            out.append(keys[e.id])
        elif e.kind == 'button' and e.value and int(e.id) in buttons:
            out.append(buttons[int(e.id)])
    return out
