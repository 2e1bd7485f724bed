"""Camera frames for training: decoded once, at the contract's input size, from the frame cache.

The policy resizes frames of any size inside (vision_preprocess.ImagePreprocess); training feeds
frames already at (height, width), resized by the same function (dil_ros.data.frame_cache uses
``resize_frames``), so that step is a no-op in the training graph. The cache decodes a camera's
videos once into a uint8 memmap under the dataset (reused by later runs). Random crops
(augmentation) happen in the policy from the step's draws, not here.
"""
from dil_ros.contract import Contract
from dil_ros.data.frame_cache import cache_frames
from dil_ros.data.lerobot_format import DatasetError
from dil_ros.data.lerobot_meta import read_episode_rows


def attach_camera_frames(dataset, contract: Contract) -> None:
    """Put each contract camera's cached frames ``[T, height, width, 3]`` into the episodes of
    ``dataset`` (a dil_ros.data.lerobot.Dataset read without its cameras)."""
    if not contract.image_keys:
        return
    rows = [row for row in read_episode_rows(dataset.root) if row['length'] > 0]
    if len(rows) != len(dataset.episodes):
        raise DatasetError(f'{dataset.root}: {len(rows)} episodes in meta/episodes, '
                           f'{len(dataset.episodes)} read')
    for key in contract.image_keys:
        spec = contract.observations[key]
        cache = cache_frames(dataset.root, key, spec.height, spec.width)
        for episode, row in zip(dataset.episodes, rows):
            frames = cache.episode(row['episode_index'])
            if len(frames) != len(episode):
                raise DatasetError(f'{dataset.root}: {key}: episode {row["episode_index"]} has '
                                   f'{len(frames)} video frames and {len(episode)} data rows')
            episode.observations[key] = frames
