"""The checks guarding recording's use of rosbags internals fail loudly when those change."""
import os

import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.storage_mcap import McapWriter
from rosbags.typesys import get_typestore, Stores

from dil_ros.recording import rosbags_private
from dil_ros.recording.episode import EpisodeWriter, RecordingError
from dil_ros.recording.rosbags_private import (
    cdr_length_reader, check_mcap_writer, flush_chunk, RosbagsApiError)


def test_mcap_writer_check_and_flush(tmp_path, monkeypatch):
    writer = Writer(tmp_path / 'bag', version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    check_mcap_writer(writer)  # the installed rosbags passes
    mcap = tmp_path / 'bag' / 'bag.mcap'
    header = flush_chunk(writer)
    assert header == os.path.getsize(mcap) > 0
    writer.add_connection('/note', 'std_msgs/msg/String', typestore=get_typestore(
        Stores.ROS2_KILTED))
    assert flush_chunk(writer, header) == os.path.getsize(mcap) > header  # the pending chunk
    writer.close()

    monkeypatch.delattr(McapWriter, 'close_chunk')
    writer = Writer(tmp_path / 'bag2', version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    with pytest.raises(RosbagsApiError, match=r'missing McapWriter\.close_chunk.*'
                                              r'pip install rosbags==0\.11\.9'):
        check_mcap_writer(writer)
    writer.abort()


def test_episode_does_not_start_on_a_changed_mcap_writer(tmp_path, monkeypatch):
    monkeypatch.delattr(McapWriter, 'close_chunk')
    episode = EpisodeWriter(tmp_path, 'episode_0000', {'/note': 'std_msgs/msg/String'})
    with pytest.raises(RecordingError, match='episode_0000: cannot start: rosbags .*close_chunk'):
        episode.open()
    assert os.listdir(tmp_path) == []


def test_cdr_reader_check(monkeypatch):
    store = get_typestore(Stores.ROS2_KILTED)
    raw = bytes(store.serialize_cdr(store.types['std_msgs/msg/String'](data='abc'),
                                    'std_msgs/msg/String'))
    assert cdr_length_reader(store, 'std_msgs/msg/String')(memoryview(raw + bytes(8))) == len(raw)

    class Changed:  # e.g. a release where the generated functions take other arguments
        cls = None

        @staticmethod
        def deserialize_cdr_le(raw, pos, cls):
            return None, pos

        deserialize_cdr_be = deserialize_cdr_le
    monkeypatch.setattr(rosbags_private, '_cdr_api_checked', False)
    monkeypatch.setattr(store, 'get_msgdef', lambda typename: Changed)
    with pytest.raises(RosbagsApiError, match=r'CDR deserialiser .*TypeError.*constraints\.txt'):
        cdr_length_reader(store, 'std_msgs/msg/String')
