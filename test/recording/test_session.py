"""Recorder state machine, MCAP episodes, index, failures and recovery - all without DDS."""
import errno
import json
import os
import time

import pytest
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_typestore, Stores

from dil_ros.recording import Recorder, Session
from dil_ros.recording import episode as episode_mod
from dil_ros.recording.recover import bag_custom_data, recover_session

STORE = get_typestore(Stores.ROS2_KILTED)


def _recorder(path, msgs, **kw):
    topics = {t: ty for t, (ty, _) in msgs.items()}
    kw.setdefault('flush_period_s', 0.05)
    return Recorder(Session(path, info={'contract': 'mujoco_arm'}), topics,
                    metadata={'task': 'stack', 'operator': 'ann', 'robot': 'arm1'}, **kw)


def _feed(rec, msgs):
    for topic, (_, datas) in msgs.items():
        for data in datas:
            rec.put(topic, data)


def _crash_mid_episode(rec, msgs):
    """Start an episode, let its chunks reach disk, then "crash": nothing more is written or
    closed (the writer stops accepting, as if the process died)."""
    rec.start()
    _feed(rec, msgs)
    time.sleep(0.3)  # > flush period: chunks on disk
    rec.episode._accepting = False


def _read_bag(path):
    """Every message decoded with rosbags: topic -> list of messages."""
    out = {}
    assert bag_custom_data(path)['task'] == 'stack'
    with Reader(path) as reader:
        for conn, _, raw in reader.messages():
            out.setdefault(conn.topic, []).append(STORE.deserialize_cdr(raw, conn.msgtype))
    return out


def _index(path):
    return json.loads((path / 'episodes.json').read_text())


def test_record_keep_discard_and_round_trip(tmp_path, make_msgs):
    msgs = make_msgs(20)
    rec = _recorder(tmp_path / 's', msgs)
    assert rec.stop() == (False, 'not recording; nothing to stop')
    assert rec.discard() == (False, 'not recording; nothing to discard')
    ok, text = rec.start()
    assert ok and 'episode_0000' in text
    ok, text = rec.start()
    assert not ok and 'already recording episode_0000' in text
    _feed(rec, msgs)
    assert rec.stop(success=True)[0]
    assert rec.start()[0]
    _feed(rec, msgs)
    assert rec.discard() == (True, 'discarded episode_0001')
    assert rec.start()[0]
    _feed(rec, msgs)
    assert rec.stop()[0]
    assert rec.set_success(False)[0]

    root = tmp_path / 's'
    names = sorted(p.name for p in root.iterdir())
    assert names == ['episode_0000', 'episode_0001', 'episodes.json']
    index = _index(root)
    assert index['contract'] == 'mujoco_arm'
    assert [e['name'] for e in index['episodes']] == ['episode_0000', 'episode_0001']
    first, last = index['episodes']
    assert first['success'] is True and last['success'] is False
    assert first['metadata']['operator'] == 'ann'
    assert first['counts'] == {t: 20 for t in msgs}
    for ep in ('episode_0000', 'episode_0001'):
        assert sorted(os.listdir(root / ep)) == [f'{ep}.mcap', 'metadata.yaml']
        decoded = _read_bag(root / ep)
        assert {t: len(v) for t, v in decoded.items()} == {t: 20 for t in msgs}
        assert [m.position[0] for m in decoded['/joint_states']] == list(range(20))
        assert decoded['/camera/image'][3].data.tolist() == [3] * 60
        assert decoded['/note'][4].data == 'xxxx'


def test_max_duration_auto_stop_keeps(tmp_path, make_msgs):
    now = [10**18]
    msgs = make_msgs(3)
    rec = _recorder(tmp_path / 's', msgs, max_duration_s=2.0, clock_ns=lambda: now[0])
    assert rec.start()[0]
    _feed(rec, msgs)
    assert rec.tick() is None
    now[0] += int(2.5e9)
    assert 'max duration 2 s reached' in rec.tick()
    assert not rec.recording
    entry = _index(tmp_path / 's')['episodes'][0]
    assert entry['duration_s'] == pytest.approx(2.5) and entry['stop_reason'].startswith('max')


def test_status_reports_counts(tmp_path, make_msgs):
    msgs = make_msgs(5)
    rec = _recorder(tmp_path / 's', msgs)
    assert rec.status()['recording'] is False
    rec.start()
    _feed(rec, msgs)
    deadline = time.time() + 5
    while rec.status()['counts'].get('/note', 0) < 5 and time.time() < deadline:
        time.sleep(0.01)
    st = rec.status()
    assert st['recording'] and st['episode_index'] == 0 and st['counts']['/note'] == 5
    json.dumps(st)
    rec.stop()


def test_unwritable_folder_fails_start_cleanly(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(2)
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    rec = _recorder(blocker / 's', msgs)
    ok, text = rec.start()
    assert not ok and 'cannot create session folder' in text
    assert rec.status()['last_error'] == text

    root = tmp_path / 's'
    rec = _recorder(root, msgs)
    rec.start()
    _feed(rec, msgs)
    rec.stop()
    before = (root / 'episodes.json').read_bytes()

    real_mkdir = type(root).mkdir

    def readonly_mkdir(self, *a, **kw):
        if self.name.endswith('.partial'):
            raise OSError(errno.EROFS, 'Read-only file system', str(self))
        return real_mkdir(self, *a, **kw)
    monkeypatch.setattr(type(root), 'mkdir', readonly_mkdir)
    ok, text = rec.start()
    assert not ok and 'not writable' in text and 'cannot start' in text
    assert (root / 'episodes.json').read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason='root ignores folder permissions')
def test_read_only_folder(tmp_path, make_msgs):
    msgs = make_msgs(2)
    root = tmp_path / 's'
    root.mkdir()
    root.chmod(0o555)
    try:
        ok, text = _recorder(root, msgs).start()
        assert not ok and 'not writable' in text
    finally:
        root.chmod(0o755)


def test_disk_full_stops_recording_and_keeps_earlier(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(10)
    root = tmp_path / 's'
    errors = []
    rec = _recorder(root, msgs)
    rec.start()
    _feed(rec, msgs)
    rec.stop(success=True)
    before = (root / 'episodes.json').read_bytes()

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(episode_mod.Writer, 'write', full)
    rec.start()
    rec.episode.on_error = errors.append
    _feed(rec, msgs)
    deadline = time.time() + 5
    while not rec.episode.failed and time.time() < deadline:
        time.sleep(0.01)
    text = rec.tick()
    assert 'disk full (ENOSPC)' in text and errors == [text]
    assert not rec.recording and rec.status()['last_error'] == text
    assert rec.stop()[0] is False
    assert (root / 'episodes.json').read_bytes() == before
    assert len(_read_bag(root / 'episode_0000')['/note']) == 10
    monkeypatch.undo()
    # The failed episode's partial folder is left for recover, which can drop it.
    assert (root / '.episode_0001.partial').is_dir()
    assert recover_session(root, drop=True) == ['episode_0001: dropped partial episode']
    assert sorted(os.listdir(root)) == ['episode_0000', 'episodes.json']


def test_disk_full_while_closing(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(3)
    root = tmp_path / 's'
    rec = _recorder(root, msgs)
    rec.start()
    _feed(rec, msgs)

    def full(self):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(episode_mod.Writer, 'close', full)
    ok, text = rec.stop()
    assert not ok and 'ENOSPC' in text and not rec.recording
    assert not (root / 'episode_0000').exists()


def test_crash_recovery(tmp_path, make_msgs):
    msgs = make_msgs(30)
    root = tmp_path / 's'
    rec = _recorder(root, msgs)
    rec.start()
    _feed(rec, msgs)
    rec.stop(success=True)
    _crash_mid_episode(rec, msgs)
    rec.episode = None
    # A finished episode that the index missed (crash between rename and index update):
    index = _index(root)
    (root / 'episodes.json').write_text(json.dumps({**index, 'episodes': []}))
    log = recover_session(root)
    assert log == ['episode_0001: recovered 120 messages (0.0 s)',
                   'episode_0000: added to episodes.json']
    index = _index(root)
    assert [e['name'] for e in index['episodes']] == ['episode_0000', 'episode_0001']
    assert index['episodes'][0]['metadata']['success'] is True
    assert index['episodes'][1]['recovered'] is True
    assert {t: len(v) for t, v in _read_bag(root / 'episode_0001').items()} == {
        t: 30 for t in msgs}
    assert recover_session(root) == ['nothing to recover']


def test_torn_mcap_tail_is_skipped(tmp_path, make_msgs):
    msgs = make_msgs(10)
    root = tmp_path / 's'
    rec = _recorder(root, msgs)
    _crash_mid_episode(rec, msgs)
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
    rec = _recorder(root, msgs)
    _crash_mid_episode(rec, msgs)
    parser = ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args([str(root)])) == 0
    assert capsys.readouterr().out == 'episode_0000: recovered 20 messages (0.0 s)\n'
    with pytest.raises(RecordingError, match='not a session folder'):
        cli.run(Namespace(session_dir=str(tmp_path / 'nope'), drop=False))


def test_undecodable_message_is_counted_not_stored(tmp_path, make_msgs):
    msgs = make_msgs(2)
    rec = _recorder(tmp_path / 's', msgs)
    rec.start()
    _feed(rec, msgs)
    rec.put('/joint_states', b'\x00\x01\x00\x00\x07')
    deadline = time.time() + 5
    while 'undecodable' not in rec.status() and time.time() < deadline:
        time.sleep(0.01)
    assert rec.status()['undecodable'] == {'/joint_states': 1}
    rec.stop()
    assert len(_read_bag(tmp_path / 's' / 'episode_0000')['/joint_states']) == 2
