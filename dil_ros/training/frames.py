"""Camera frames for training: resized once, before windowing, to the contract's input size.

The policy resizes frames of any size inside (vision_preprocess.ImagePreprocess); training feeds
frames already at (height, width), resized by the same function (``resize_frames``), so that step
is a no-op in the training graph and each frame is resized once, not once per window and step.
Random crops (augmentation) happen in the policy from the step's draws, not here.
"""
from typing import Iterable

from dil_ros.contract import Contract
from dil_ros.data.episode import Episode
from dil_ros.policy.vision_preprocess import resize_frames


def resize_episode_frames(episodes: Iterable[Episode], contract: Contract) -> None:
    """Replace each episode's camera frames by frames at the contract's (height, width)."""
    sizes = {key: (spec.height, spec.width) for key, spec in contract.observations.items()
             if spec.is_image}
    for episode in episodes:
        for key, (height, width) in sizes.items():
            if key in episode.observations:
                episode.observations[key] = resize_frames(episode.observations[key], height,
                                                          width)
