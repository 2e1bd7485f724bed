"""Recorder state machine over a session: episodes, index, success marks and write failures."""
import errno
import json
import os
import time

import pytest
from rosbags.rosbag2 import Reader

from dil_ros.recording import episode as episode_mod
from dil_ros.recording import Recorder, Session
from dil_ros.recording.bag_metadata import bag_custom_data
from dil_ros.recording.recover import recover_session
from session_helpers import feed, make_recorder, read_bag, read_index, STORE


def test_record_keep_discard_and_round_trip(tmp_path, make_msgs):
    msgs = make_msgs(20)
    rec = make_recorder(tmp_path / 's', msgs)
    assert rec.stop() == (False, 'not recording; nothing to stop')
    assert rec.discard() == (False, 'not recording; nothing to discard')
    ok, text = rec.start()
    assert ok and 'episode_0000' in text
    ok, text = rec.start()
    assert not ok and 'already recording episode_0000' in text
    feed(rec, msgs)
    assert rec.stop(success=True)[0]
    assert rec.start()[0]
    feed(rec, msgs)
    assert rec.discard() == (True, 'discarded episode_0001')
    assert rec.start()[0]
    feed(rec, msgs)
    assert rec.stop()[0]
    assert rec.set_success(False)[0]

    root = tmp_path / 's'
    names = sorted(p.name for p in root.iterdir())
    assert names == ['episode_0000', 'episode_0001', 'episodes.json']
    index = read_index(root)
    assert index['contract'] == 'mujoco_arm'
    assert [e['name'] for e in index['episodes']] == ['episode_0000', 'episode_0001']
    first, last = index['episodes']
    assert first['success'] is True and last['success'] is False
    assert first['metadata']['operator'] == 'ann'
    assert first['counts'] == {t: 20 for t in msgs}
    for ep in ('episode_0000', 'episode_0001'):
        assert sorted(os.listdir(root / ep)) == [f'{ep}.mcap', 'metadata.yaml']
        decoded = read_bag(root / ep)
        assert {t: len(v) for t, v in decoded.items()} == {t: 20 for t in msgs}
        assert [m.position[0] for m in decoded['/joint_states']] == list(range(20))
        assert decoded['/camera/image'][3].data.tolist() == [3] * 60
        assert decoded['/note'][4].data == 'xxxx'


def test_max_duration_auto_stop_keeps(tmp_path, make_msgs):
    now = [10**18]
    msgs = make_msgs(3)
    rec = make_recorder(tmp_path / 's', msgs, max_duration_s=2.0, clock_ns=lambda: now[0])
    assert rec.start()[0]
    feed(rec, msgs)
    assert rec.tick() is None
    now[0] += int(2.5e9)
    assert 'max duration 2 s reached' in rec.tick()
    assert not rec.recording
    entry = read_index(tmp_path / 's')['episodes'][0]
    assert entry['duration_s'] == pytest.approx(2.5) and entry['stop_reason'].startswith('max')


def test_status_reports_counts(tmp_path, make_msgs):
    msgs = make_msgs(5)
    rec = make_recorder(tmp_path / 's', msgs)
    assert rec.status()['recording'] is False
    rec.start()
    feed(rec, msgs)
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
    rec = make_recorder(blocker / 's', msgs)
    ok, text = rec.start()
    assert not ok and 'cannot create session folder' in text
    assert rec.status()['last_error'] == text

    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    rec.start()
    feed(rec, msgs)
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
        ok, text = make_recorder(root, msgs).start()
        assert not ok and 'not writable' in text
    finally:
        root.chmod(0o755)


def test_disk_full_stops_recording_and_keeps_earlier(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(10)
    root = tmp_path / 's'
    errors = []
    rec = make_recorder(root, msgs)
    rec.start()
    feed(rec, msgs)
    rec.stop(success=True)
    before = (root / 'episodes.json').read_bytes()

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(episode_mod.Writer, 'write', full)
    rec.start()
    rec.episode.on_error = errors.append
    feed(rec, msgs)
    deadline = time.time() + 5
    while not rec.episode.failed and time.time() < deadline:
        time.sleep(0.01)
    text = rec.tick()
    assert text.startswith(errors[0]) and 'disk full (ENOSPC)' in text
    assert f'run `dil-ros recover {root}`' in text and '.episode_0001.partial' in text
    assert not rec.recording and rec.status()['last_error'] == text
    assert rec.stop() == (False, f'not recording: {text}')
    assert (root / 'episodes.json').read_bytes() == before
    assert len(read_bag(root / 'episode_0000')['/note']) == 10
    monkeypatch.undo()
    # The failed episode's partial folder is left for recover, which can drop it.
    assert (root / '.episode_0001.partial').is_dir()
    assert recover_session(root, drop=True) == ['episode_0001: dropped partial episode']
    assert sorted(os.listdir(root)) == ['episode_0000', 'episodes.json']


def test_disk_full_while_closing(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(3)
    root = tmp_path / 's'
    rec = make_recorder(root, msgs)
    rec.start()
    feed(rec, msgs)

    def full(self):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(episode_mod.Writer, 'close', full)
    ok, text = rec.stop()
    assert not ok and 'ENOSPC' in text and not rec.recording
    assert f'run `dil-ros recover {root}`' in text
    assert not (root / 'episode_0000').exists()


def test_undecodable_message_is_counted_not_stored(tmp_path, make_msgs):
    msgs = make_msgs(2)
    rec = make_recorder(tmp_path / 's', msgs)
    rec.start()
    feed(rec, msgs)
    rec.put('/joint_states', b'\x00\x01\x00\x00\x07')
    deadline = time.time() + 5
    while 'undecodable' not in rec.status() and time.time() < deadline:
        time.sleep(0.01)
    assert rec.status()['undecodable'] == {'/joint_states': 1}
    rec.stop()
    assert len(read_bag(tmp_path / 's' / 'episode_0000')['/joint_states']) == 2


def _arm_episode(rec, t0_ns, seconds=1.0):
    """Record one episode of the mujoco_arm contract's topics (20 Hz, explicit stamps)."""
    import numpy as np
    T = STORE.types
    header = T['std_msgs/msg/Header'](stamp=T['builtin_interfaces/msg/Time'](sec=0, nanosec=0),
                                      frame_id='')
    empty = np.zeros(0)
    rec.start({'task': 'stack', 'success': True})
    for k in range(int(seconds * 20) + 1):
        t = t0_ns + k * 50_000_000
        for topic, msgtype, msg in (
                ('/joint_states', 'sensor_msgs/msg/JointState', T['sensor_msgs/msg/JointState'](
                    header=header, name=['shoulder_pan', 'shoulder_lift', 'elbow'],
                    position=np.full(3, k * 0.1), velocity=empty, effort=empty)),
                ('/task/goal', 'geometry_msgs/msg/Point', T['geometry_msgs/msg/Point'](
                    x=0.1, y=0.2, z=0.3)),
                ('/arm_controller/commands', 'std_msgs/msg/Float64MultiArray',
                 T['std_msgs/msg/Float64MultiArray'](
                     layout=T['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0),
                     data=np.full(3, k * 0.1)))):
            rec.put(topic, bytes(STORE.serialize_cdr(msg, msgtype)), t)


def test_operator_success_mark_wins(tmp_path, contract):
    """~/set_success beats the success parameter given at start and stop; bag metadata, index
    and converter agree, also when a kept episode is marked afterwards."""
    from dil_ros.data.convert import bag_to_episode
    root = tmp_path / 's'
    topics = {spec.topic: spec.type for spec in contract.observations.values()}
    topics[contract.teleop.topic] = contract.teleop.type
    rec = Recorder(Session(root, info={'contract': contract.name}), topics, flush_period_s=0.05)

    def stored(name):
        entry = next(e for e in read_index(root)['episodes'] if e['name'] == name)
        converted = bag_to_episode(root / name, contract)[0].metadata['success']
        return bag_custom_data(root / name)['success'], entry['success'], converted

    assert rec.set_success(False) == (True, 'success=False (applies to the next episode)')
    _arm_episode(rec, 10**18)  # the success parameter (True) is given at start ...
    assert rec.stop(success=True)[0]  # ... and at stop
    assert stored('episode_0000') == ('false', False, False)

    _arm_episode(rec, 2 * 10**18)
    assert rec.set_success(False) == (True, 'episode_0001: success=False')
    assert rec.stop(success=True)[0]
    assert stored('episode_0001') == ('false', False, False)

    assert rec.set_success(True) == (True, 'episode_0001: success=True')  # after the stop
    assert stored('episode_0001') == ('true', True, True)
    _arm_episode(rec, 3 * 10**18)  # a mark applies to its own episode only
    assert rec.stop(success=True)[0]
    assert stored('episode_0002') == ('true', True, True)
    assert stored('episode_0000') == ('false', False, False)


def test_a_latched_message_starts_every_episode(tmp_path, make_msgs):
    """A note published once before recording (transient-local publisher) is in each episode,
    first, stamped at the episode's start; a newer one replaces it; other topics are not kept."""
    msgs = make_msgs(3)
    clock = [1_000]
    rec = make_recorder(tmp_path / 's', msgs, clock_ns=lambda: clock[0])
    rec.latch('/note')
    rec.put('/note', msgs['/note'][1][2], 500)   # 'xx', before any episode
    rec.put('/joint_states', msgs['/joint_states'][1][0], 600)
    assert rec.status()['latched'] == ['/note']
    for i, note in enumerate(('xx', 'x')):
        clock[0] = 2_000 + i
        assert rec.start()[0]
        rec.put('/joint_states', msgs['/joint_states'][1][1], 2_500)
        rec.put('/note', msgs['/note'][1][1], 3_000)  # 'x' arrives mid-episode
        assert rec.stop()[0]
        with Reader(tmp_path / 's' / f'episode_000{i}') as reader:
            got = [(c.topic, t, STORE.deserialize_cdr(raw, c.msgtype)) for c, t, raw in
                   reader.messages()]
        assert [(topic, t) for topic, t, _ in got] == [('/note', 2_000 + i),
                                                       ('/joint_states', 2_500),
                                                       ('/note', 3_000)]
        assert [m.data for topic, _, m in got if topic == '/note'] == [note, 'x']
