"""Episode recording without DDS: MCAP episode writer, session folder and index, crash recovery.

The recorder node (dil_ros/nodes/recorder_node.py) is a thin shell over :class:`Recorder`.
"""
from dil_ros.recording.episode import EpisodeWriter, RecordingError
from dil_ros.recording.recorder import Recorder
from dil_ros.recording.session import Session

__all__ = ['EpisodeWriter', 'Recorder', 'RecordingError', 'Session']
