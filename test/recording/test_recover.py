"""Recovery of what a crashed or disk-full recorder left behind (dil-ros recover)."""
import errno
import json
import os
import shutil

import pytest

from dil_ros.recording.recover import recover_session
from session_helpers import crash_mid_episode, feed, make_recorder, read_bag, read_index


def test_crash_recovery(tmp_path, make_msgs):
    msgs = make_msgs(30)
    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    rec.start()
    feed(rec, msgs)
    rec.stop(success=True)
    crash_mid_episode(rec, msgs)
    rec.episode = None
    # A finished episode that the index missed (crash between rename and index update):
    index = read_index(root)
    (root / 'episodes.json').write_text(json.dumps({**index, 'episodes': []}))
    log = recover_session(root)
    assert log == ['episode_0001: recovered 120 messages (0.0 s)',
                   'episode_0000: added to episodes.json']
    index = read_index(root)
    assert [e['name'] for e in index['episodes']] == ['episode_0000', 'episode_0001']
    assert index['episodes'][0]['metadata']['success'] is True
    assert index['episodes'][1]['recovered'] is True
    assert {t: len(v) for t, v in read_bag(root / 'episode_0001').items()} == {
        t: 30 for t in msgs}
    assert recover_session(root) == ['nothing to recover']


def test_torn_mcap_tail_is_skipped(tmp_path, make_msgs):
    msgs = make_msgs(10)
    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    crash_mid_episode(rec, msgs)
    rec.episode = None
    mcap = root / '.episode_0000.partial' / 'episode_0000' / 'episode_0000.mcap'
    with open(mcap, 'ab') as f:
        f.write(b'\x06' + (10**6).to_bytes(8, 'little') + b'torn')
    log = recover_session(root)
    assert log == ['episode_0000: recovered 40 messages (0.0 s)']


def test_recover_cli(tmp_path, make_msgs, capsys):
    from argparse import ArgumentParser, Namespace
    from dil_ros.cli import recover as cli
    from dil_ros.recording.episode import RecordingError
    msgs = make_msgs(5)
    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    crash_mid_episode(rec, msgs)
    parser = ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args([str(root)])) == 0
    assert capsys.readouterr().out == 'episode_0000: recovered 20 messages (0.0 s)\n'
    with pytest.raises(RecordingError, match='not a session folder'):
        cli.run(Namespace(session_dir=str(tmp_path / 'nope'), drop=False))


def test_recovered_index_keeps_the_session_contract(tmp_path, make_msgs):
    msgs = make_msgs(5)
    root = tmp_path / 's'
    crash_mid_episode(make_recorder(root, msgs), msgs)  # before any episode was kept
    assert recover_session(root) == ['episode_0000: recovered 20 messages (0.0 s)']
    index = read_index(root)
    assert index['contract'] == 'mujoco_arm' and index['episodes'][0]['recovered'] is True


def test_recover_on_a_full_disk_says_what_to_free(tmp_path, make_msgs, monkeypatch, capsys):
    from rosbags.rosbag2 import Writer

    from dil_ros.cli.main import main
    from dil_ros.recording.recover import SPACE_MARGIN
    msgs = make_msgs(5)
    root = tmp_path / 's'
    crash_mid_episode(make_recorder(root, msgs), msgs)
    partial = root / '.episode_0000.partial'
    needed = (partial / 'episode_0000' / 'episode_0000.mcap').stat().st_size + SPACE_MARGIN
    before = sorted(os.listdir(root))

    def check_one_line_error():
        assert main(['recover', str(root)]) == 1
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and 'Traceback' not in err
        assert err.startswith(f'dil-ros recover: error: {root}: disk full: recovering '
                              f'episode_0000 needs about {needed} bytes')
        assert sorted(os.listdir(root)) == before  # no .recover folder, partial kept

    real_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: real_usage(p)._replace(free=4096))
    check_one_line_error()
    monkeypatch.undo()

    def full(self, *a, **kw):  # enough free space by the count, but the disk fills up meanwhile
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(Writer, 'write', full)
    check_one_line_error()
    monkeypatch.undo()

    assert main(['recover', str(root)]) == 0
    assert read_index(root)['episodes'][0]['message_count'] == 20


def test_recovered_episode_keeps_the_operator_mark(tmp_path, make_msgs):
    msgs = make_msgs(5)
    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    rec.metadata['success'] = True  # the success parameter at start
    crash_mid_episode(rec, msgs)
    assert rec.set_success(False)[0]  # then the operator's mark, before the crash
    assert recover_session(root) == ['episode_0000: recovered 20 messages (0.0 s)']
    assert read_index(root)['episodes'][0]['success'] is False
