"""Read and write LeRobot v3.0 datasets: low-dimensional features and cameras as video.

``write_dataset`` lays out what LeRobot's own writer produces (see lerobot_format.py and
lerobot_video.py) so that ``lerobot.datasets.LeRobotDataset`` can load it; ``read_dataset`` reads
ours and LeRobot's own datasets, including ones split over several data and video files and
chunks (PNG image features are skipped).
"""

from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.lerobot_reader import Dataset, read_dataset
from dil_ros.data.lerobot_writer import check_writable, write_dataset

__all__ = ['check_writable', 'Dataset', 'DatasetError', 'read_dataset', 'write_dataset']
