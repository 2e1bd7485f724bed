"""Episode keys: the operator starts, keeps, discards and marks episodes from the teleop device.

``episode_keys`` entries are ``'action:key'`` (pygame key names); the actions are :data:`ACTIONS`.
A key may do one thing only: it must differ from the dead-man key and the joints' keys.
"""
from typing import Dict, Iterable, List, Sequence

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


class KeyBindingError(DilRosError, ValueError):
    """An episode key binding that is malformed or clashes with another key."""


def parse_episode_keys(entries: Sequence[str], taken: Iterable[str]) -> Dict[str, str]:
    """``['start:return', ...]`` -> {key: action}; ``taken``: keys already used for driving."""
    taken = set(taken)
    keys: Dict[str, str] = {}
    for entry in entries:
        action, sep, key = str(entry).partition(':')
        if not sep or not key or action not in ACTIONS:
            raise KeyBindingError(f'episode_keys: {entry!r}: expected action:key with action one '
                                  f'of {", ".join(ACTIONS)}')
        if key in taken or key in keys:
            raise KeyBindingError(f'episode_keys: {entry!r}: key {key!r} is already bound')
        keys[key] = action
    return keys


def pressed_actions(events: Iterable[InputEvent], keys: Dict[str, str]) -> List[str]:
    """The episode actions whose keys went down in ``events``, in order."""
    return [keys[e.id] for e in events if e.kind == 'key' and e.value and e.id in keys]
