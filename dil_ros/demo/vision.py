"""`dil-ros demo --vision`: the goal seen only by a camera (the task's vision variant).

The same pipeline as the state-only demo with these differences: sim_node renders its ``top``
camera at the contract's size and publishes no goal topic (the goal is a marker in the image),
every node reads config/contracts/mujoco_arm_vision.yaml, both policies (diffusion and the MSE
baseline) get the same camera encoder and train on all but the last tenth of the demonstrations,
and the report adds the evidence that they read the goal from the image: each policy's action
error on those held-out demonstrations with their own frames and with another one's, and the
success of a policy that always reaches for the demonstrations' mean goal. The rollout video shows
the camera's view in a corner.
"""
from pathlib import Path
from typing import Any, Dict, List, Mapping

CONTRACT_FILE = 'mujoco_arm_vision.yaml'
TRAIN_CONFIG = 'train_vision_small.yaml'
CAMERA = 'top'
TRAIN_EPISODES = '0.9'   # the last tenth is held out for the image-reliance figure
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


def sim_params(contract) -> Dict[str, Any]:
    """SIM_PARAMS with the camera rendered at the contract's size (no resize in the policy)."""
    spec = contract.observations[f'observation.images.{CAMERA}']
    return {**SIM_PARAMS, 'camera_width': int(spec.width), 'camera_height': int(spec.height)}


def offline_evidence(policies: Mapping[str, Any], dataset_root: Path, contract
                     ) -> Dict[str, Any]:
    """Per policy, the action error on the held-out demonstrations with own vs another
    episode's frames; the diffusion policy's chunk time split into encoder and denoising."""
    import torch
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.data.windowing import WindowDataset
    from dil_ros.demo.vision_evidence import chunk_latency_split, image_reliance
    from dil_ros.training.batches import collate
    from dil_ros.training.episodes import resolve
    from dil_ros.training.frames import attach_camera_frames
    lowdim = [k for k in contract.observations if k not in contract.image_keys]
    dataset = read_dataset(dataset_root, keys=lowdim)
    attach_camera_frames(dataset, contract)
    n = len(dataset.episodes)
    trained = set(resolve(TRAIN_EPISODES, n, f'{dataset_root}: episodes'))
    held = [i for i in range(n) if i not in trained]
    out: Dict[str, Any] = {'held_out_episodes': len(held)}
    if len(held) >= 2:
        out['action_error_rad'] = {kind: image_reliance(policy, dataset, contract, held)
                                   for kind, policy in policies.items()}
    longest = max(held or range(n), key=lambda i: len(dataset.episodes[i]))
    window = collate([WindowDataset([dataset.episodes[longest]], contract.n_obs_steps,
                                    contract.horizon, contract.n_action_steps)[0]])
    with torch.no_grad():
        out['diffusion_chunk_ms'] = chunk_latency_split(policies['diffusion'], window['obs'])
    return out


def mean_goal_success(demo_goals: List, eval_goals: List) -> float:
    """Success of a policy that always reaches for the demonstrations' mean goal, on the
    evaluation episodes' goals (the task's tolerance)."""
    from dil_ros.demo.vision_evidence import mean_goal_success as share
    from dil_ros.sim.task import ReachAroundTask
    return share(demo_goals, eval_goals, ReachAroundTask().tolerance)


def evidence_lines(v: Mapping[str, Any]) -> List[str]:
    """The report's lines on whether the policies read the goal from the image."""
    lines = []
    for kind, err in v.get('action_error_rad', {}).items():
        own, other = err['own frames'], err["other episode's frames"]
        lines.append(f'{kind:10s} chunk-end error on the second halves of '
                     f'{v["held_out_episodes"]} held-out demonstrations: {own:.3f} rad with '
                     f"their own frames, {other:.3f} with another one's "
                     f'({other / max(own, 1e-9):.2f}x)')
    if 'mean_goal_success' in v:
        lines.append(f'a policy reaching for the mean goal would succeed in '
                     f'{v["mean_goal_success"]:.0%} of the evaluation episodes')
    split = v.get('diffusion_chunk_ms')
    if split:
        lines.append(f'diffusion chunk in-process (TorchScript, 1 thread): encoder '
                     f'{split["encoder"]:.1f} ms + denoising {split["denoising"]:.1f} ms')
    return lines
