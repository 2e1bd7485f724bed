"""Episode keys: parsing, clashes with the driving keys, key-down events to actions."""
import pytest

from dil_ros.errors import DilRosError
from dil_ros.teleop.episodes import DEFAULT_KEYS, parse_episode_keys, pressed_actions
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
