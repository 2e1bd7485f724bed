"""`dil-ros demo --vision`: the goal seen only by a camera (the task's vision variant).

The same pipeline as the state-only demo with three differences: sim_node renders its ``top``
camera and publishes no goal topic (the goal is a marker in the image), every node reads
config/contracts/mujoco_arm_vision.yaml, and only the diffusion policy is trained (the MSE
baseline takes no cameras). The rollout video shows the camera's view in a corner.
"""
from pathlib import Path
from typing import Any, Dict

CONTRACT_FILE = 'mujoco_arm_vision.yaml'
TRAIN_CONFIG = 'train_vision_small.yaml'
CAMERA = 'top'
# sim_node's parameters for the variant; frames at twice the contract's 10 Hz grid, so the frame a
# window picks is at most 50 ms older than its instant
SIM_PARAMS: Dict[str, Any] = {'publish_goal': False, 'camera_names': [CAMERA],
                              'camera_rate_hz': 20.0}
VIDEO_PARAMS: Dict[str, Any] = {'video_inset_camera': CAMERA}


def contract_path() -> Path:
    from dil_ros.contract import default_contract_path
    return default_contract_path().parent / CONTRACT_FILE


def train_config_path() -> Path:
    from dil_ros.training.config import config_dir
    return config_dir() / TRAIN_CONFIG
