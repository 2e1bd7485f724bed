"""Episode keys: parsing, clashes with the driving keys, key-down events to actions."""
import pytest

from dil_ros.errors import DilRosError
from dil_ros.teleop.episodes import (DEFAULT_BUTTONS, DEFAULT_KEYS, parse_bindings,
                                     parse_episode_keys, pressed_actions)
from dil_ros.teleop.inputs import InputEvent


def test_default_keys_and_presses():
    keys = parse_episode_keys(DEFAULT_KEYS, ['q', 'a', 'space'])
    assert keys == {'return': 'start', 'k': 'stop', 'x': 'discard', 'm': 'success',
                    'n': 'failure'}
    events = [InputEvent('key', 'return', 1.0), InputEvent('key', 'return', 0.0),
              InputEvent('key', 'q', 1.0), InputEvent('key', 'x', 1.0)]
    assert pressed_actions(events, keys) == ['start', 'discard']


@pytest.mark.parametrize('entries, problem', [
    (['start:q'], "key 'q' is already bound"),
    (['start:return', 'stop:return'], "key 'return' is already bound"),
    (['fly:z'], 'expected action:key'),
    (['start'], 'expected action:key'),
])
def test_bad_bindings_are_named(entries, problem):
    with pytest.raises(DilRosError, match=problem) as info:
        parse_episode_keys(entries, ['q', 'a', 'space'])
    assert str(info.value).startswith('episode_keys: ')


def test_joystick_buttons():
    buttons = parse_bindings(DEFAULT_BUTTONS, [4], 'episode_buttons')
    assert buttons == {7: 'start', 0: 'stop', 1: 'discard', 3: 'success', 2: 'failure'}
    events = [InputEvent('button', 7, 1.0), InputEvent('button', 4, 1.0),
              InputEvent('button', 1, 0.0), InputEvent('button', 0, 1.0)]
    assert pressed_actions(events, {}, buttons) == ['start', 'stop']
    with pytest.raises(DilRosError, match="episode_buttons: 'stop:4': button 4 is already"):
        parse_bindings(['stop:4'], [4], 'episode_buttons')
    with pytest.raises(DilRosError, match='expected action:button'):
        parse_bindings(['stop:a'], [4], 'episode_buttons')
