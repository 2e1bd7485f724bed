"""Randomly initialised policies on the default contract, for benchmarks and parity tests.

Latency and numerical parity do not depend on training: a seeded random U-Net of the right size
exercises the same kernels. Dims, To/Tp/Ta come from config/contracts/mujoco_arm.yaml.
"""
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import torch

from dil_ros.contract import (Contract, contract_from_mapping, default_contract_path,
                              load_contract)
from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.policy.export import diffusion_metadata, export_policy
from dil_ros.policy.vision_encoder import VisionConfig
from dil_ros.policy.vision_preprocess import CameraSpec

CHI_LOWDIM = (256, 512, 1024)
SMALL = (64, 128, 256)
TINY = (16, 32)


def default_contract() -> Contract:
    return load_contract(default_contract_path())


def camera_contract(n_cameras: int = 1, size: int = 96, crop: int = 84,
                    contract: Optional[Contract] = None) -> Contract:
    """``contract`` (default: mujoco_arm) with ``n_cameras`` cameras ``observation.images.cam<i>``
    of ``size`` x ``size`` (``crop``: 0 for none)."""
    data = (contract or default_contract()).to_mapping()
    for i in range(n_cameras):
        entry = {'topic': f'/camera/cam{i}/image_raw', 'type': 'sensor_msgs/msg/Image',
                 'height': size, 'width': size}
        if crop:
            entry['crop'] = [crop, crop]
        data['observations'][f'observation.images.cam{i}'] = entry
    return contract_from_mapping(data, f'<mujoco_arm with {n_cameras} camera(s)>')


def synthetic_stats(contract: Contract) -> Dict[str, Dict[str, list]]:
    stats = {key: {'min': [-1.0] * dim, 'max': [1.0] * dim}
             for key, dim in contract.obs_dims.items()}
    stats['action'] = {'min': [-2.0] * contract.action_dim, 'max': [2.0] * contract.action_dim}
    return stats


def synthetic_policy(down_dims: Sequence[int] = SMALL, num_inference_steps: int = 10,
                     seed: int = 0, contract: Contract = None,
                     vision: Optional[VisionConfig] = None) -> DiffusionPolicy:
    """A seeded random DiffusionPolicy (eval mode) for ``contract`` (default: mujoco_arm; its
    cameras get ``vision``'s encoder)."""
    contract = contract or default_contract()
    widest = max(down_dims)
    # Chi et al.'s low-dim configs: step embedding 256, kernel 5; narrower nets scale down.
    embed = 256 if widest >= 1024 else (128 if widest > 64 else 16)
    config = PolicyConfig(
        n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
        n_action_steps=contract.n_action_steps, down_dims=tuple(down_dims),
        diffusion_step_embed_dim=embed, kernel_size=3 if widest <= 64 else 5,
        num_inference_steps=num_inference_steps)
    torch.manual_seed(seed)
    cameras = [CameraSpec.from_observation(k, contract.observations[k])
               for k in contract.image_keys]
    return DiffusionPolicy(config, contract.obs_dims, contract.action_dim,
                           synthetic_stats(contract), cameras=cameras, vision=vision).eval()


def synthetic_inputs(policy: DiffusionPolicy, batch_size: int = 1, seed: int = 1,
                     device: Union[str, torch.device] = 'cpu'
                     ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
    """(obs {key: [B, To, D]} in [-1, 1] and random uint8 frames [B, To, H, W, 3] at each
    camera's input size, noise [B, Tp, Da]) from a seeded CPU generator."""
    gen = torch.Generator().manual_seed(seed)
    obs = {key: (torch.rand(batch_size, policy.n_obs_steps, dim, generator=gen) * 2 - 1).to(device)
           for key, dim in policy.obs_dims.items()}
    for cam in policy.cameras:
        obs[cam.key] = torch.randint(0, 256, (batch_size, policy.n_obs_steps, cam.height,
                                              cam.width, 3), generator=gen,
                                     dtype=torch.uint8).to(device)
    noise = torch.randn(batch_size, policy.horizon, policy.action_dim, generator=gen).to(device)
    return obs, noise


def export_synthetic(policy: DiffusionPolicy, path: Union[str, Path],
                     contract: Contract = None) -> Path:
    """Write ``policy`` as a policy.ts with valid metadata (fingerprint 'synthetic')."""
    contract = contract or default_contract()
    return export_policy(policy, path, diffusion_metadata(policy, contract, 'synthetic'))
