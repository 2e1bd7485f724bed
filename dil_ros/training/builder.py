"""Build the policy a run trains (and export re-creates) from its kind, config and data facts."""
from typing import Dict, List, Mapping, Optional, Sequence

from torch import nn

from dil_ros.contract import Contract
from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.policy.regression import RegressionConfig, RegressionPolicy
from dil_ros.policy.vision_encoder import VisionConfig
from dil_ros.policy.vision_preprocess import CameraSpec

KINDS = ('diffusion', 'regression')


def camera_specs(contract: Contract) -> List[CameraSpec]:
    """The policy input of each camera of ``contract`` (height, width, crop), in key order."""
    return [CameraSpec.from_observation(key, contract.observations[key])
            for key in contract.image_keys]


def build_policy(kind: str, policy_config: PolicyConfig, regression_config: RegressionConfig,
                 obs_dims: Mapping[str, int], action_dim: int, stats: Mapping,
                 cameras: Sequence[CameraSpec] = (),
                 vision: Optional[VisionConfig] = None) -> nn.Module:
    if kind == 'diffusion':
        return DiffusionPolicy(policy_config, dict(obs_dims), int(action_dim), stats,
                               cameras=cameras, vision=vision)
    if kind == 'regression':   # with cameras: the same encoders as the diffusion policy
        return RegressionPolicy(regression_config, dict(obs_dims), int(action_dim), stats,
                                n_obs_steps=policy_config.n_obs_steps,
                                horizon=policy_config.horizon, cameras=cameras, vision=vision)
    raise ValueError(f'unknown policy kind {kind!r} (expected one of {KINDS})')


def objective_for(kind: str, policy: nn.Module, policy_config: PolicyConfig) -> nn.Module:
    from dil_ros.training.objectives import DiffusionObjective, RegressionObjective
    cls = DiffusionObjective if kind == 'diffusion' else RegressionObjective
    return cls(policy, policy_config)


def count_parameters(module: nn.Module) -> Dict[str, int]:
    return {'total': sum(p.numel() for p in module.parameters()),
            'trainable': sum(p.numel() for p in module.parameters() if p.requires_grad)}
