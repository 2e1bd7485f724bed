"""EpisodeWriter: what reaches the disk, and when."""
import os
import time

from dil_ros.recording.episode import EpisodeWriter
from session_helpers import STORE


def _fsync_counter(monkeypatch):
    """Patch os.fsync to record the path of every fsynced file or folder."""
    calls = []
    real = os.fsync

    def fsync(fd):
        calls.append(os.readlink(f'/proc/self/fd/{fd}'))
        return real(fd)
    monkeypatch.setattr(os, 'fsync', fsync)
    return calls


def _chunks(mcap):
    """Chunk records in a (possibly unfinished) MCAP file."""
    from mcap.records import Chunk
    from mcap.stream_reader import StreamReader
    with open(mcap, 'rb') as f:
        records = StreamReader(f, emit_chunks=True).records
        found = 0
        try:
            for record in records:
                found += isinstance(record, Chunk)
        except Exception:  # noqa: BLE001 - the file has no footer yet
            pass
    return found


def test_every_flushed_chunk_is_fsynced(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(5)
    writer = EpisodeWriter(tmp_path, 'episode_0000', {t: ty for t, (ty, _) in msgs.items()},
                           flush_period_s=0.05)
    writer.open()
    mcap = str(writer.bag_dir / 'episode_0000.mcap')
    calls = _fsync_counter(monkeypatch)
    time.sleep(0.2)
    assert calls.count(mcap) == _chunks(mcap) == 1  # the schemas and channels; then nothing new
    for _ in range(3):
        for topic, (_, datas) in msgs.items():
            for data in datas:
                writer.put(topic, data)
        time.sleep(0.2)  # a few flush periods
    writer._drain()  # stop the writer thread; the bag stays unfinished, as after a power cut
    chunks = _chunks(mcap)
    assert chunks >= 4 and calls.count(mcap) == chunks
    writer.abandon()


def test_chunks_rosbags_writes_itself_are_fsynced(tmp_path, make_msgs, monkeypatch):
    """A message past 1 MiB makes rosbags write the chunk at once; the next flush fsyncs it."""
    import numpy as np
    T = STORE.types
    header = T['std_msgs/msg/Header'](stamp=T['builtin_interfaces/msg/Time'](sec=0, nanosec=0),
                                      frame_id='')
    big = bytes(STORE.serialize_cdr(T['sensor_msgs/msg/Image'](
        header=header, height=600, width=600, encoding='rgb8', is_bigendian=0, step=1800,
        data=np.zeros(600 * 600 * 3, np.uint8)), 'sensor_msgs/msg/Image'))
    writer = EpisodeWriter(tmp_path, 'episode_0000', {'/image': 'sensor_msgs/msg/Image'},
                           flush_period_s=0.05)
    writer.open()
    mcap = str(writer.bag_dir / 'episode_0000.mcap')
    time.sleep(0.2)
    calls = _fsync_counter(monkeypatch)
    writer.put('/image', big)
    time.sleep(0.3)
    writer._drain()
    assert os.path.getsize(mcap) > len(big) and calls.count(mcap) >= 1
    writer.abandon()


def test_finished_bag_and_its_rename_are_fsynced(tmp_path, make_msgs, monkeypatch):
    msgs = make_msgs(2)
    writer = EpisodeWriter(tmp_path, 'episode_0000', {t: ty for t, (ty, _) in msgs.items()})
    writer.open()
    for topic, (_, datas) in msgs.items():
        writer.put(topic, datas[0])
    calls = _fsync_counter(monkeypatch)
    writer.finish()
    final = tmp_path / 'episode_0000'
    for name in ('episode_0000.mcap', 'metadata.yaml'):
        assert str(writer.partial / 'episode_0000' / name) in calls  # before the rename
    assert calls[-1] == str(tmp_path)  # the folder holding the renamed bag, last
    assert sorted(os.listdir(final)) == ['episode_0000.mcap', 'metadata.yaml']
