"""The window's text: dead-man, recording state, episode count, sim state and the key map."""
from dil_ros.teleop.episodes import DEFAULT_KEYS, parse_episode_keys
from dil_ros.teleop.overlay import GREEN, overlay_lines, OverlayState, RED


def state(**kw):
    return OverlayState(mode='joint_position', topic='/arm_controller/commands',
                        deadman_label='space',
                        joint_keys=[('q', 'a', 'shoulder_pan'), ('w', 's', 'shoulder_lift')],
                        episode_keys=parse_episode_keys(DEFAULT_KEYS, []), **kw)


def texts(s):
    return [t for t, _ in overlay_lines(s)]


def test_idle_window_names_every_key():
    lines = texts(state())
    assert 'dead-man released: hold space to move' in lines
    assert any('no status yet' in t for t in lines)
    joined = '\n'.join(lines)
    for needle in ('space\tdead-man', 'q / a\tshoulder_pan', 'w / s', 'return\tnew episode',
                   'reset the sim', 'k\tstop and keep', 'x\t', 'm\t', 'n\t'):
        assert needle in joined


def test_recording_and_sim_state():
    s = state(deadman=True, message='start: recording episode_0002',
              recorder={'recording': True, 'episode': 'episode_0002', 'duration_s': 3.25,
                        'kept': 2, 'last_episode': 'episode_0001', 'last_error': None},
              task={'episode': 4, 'seed': 4, 'state': 'collision', 'time': 2.0})
    lines = overlay_lines(s)
    assert ('DEAD-MAN HELD (space): moving', GREEN) in lines
    assert ('REC episode_0002  3.2 s   kept 2 (last episode_0001)', RED) in lines
    assert ('sim: episode 4 (seed 4) COLLISION, 2.0 s', RED) in lines
    assert ('start: recording episode_0002', 'white') in lines
