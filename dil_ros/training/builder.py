"""Build the policy a run trains (and export re-creates) from its kind, config and data facts."""
from typing import Dict, Mapping

from torch import nn

from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.policy.regression import RegressionConfig, RegressionPolicy

KINDS = ('diffusion', 'regression')


def build_policy(kind: str, policy_config: PolicyConfig, regression_config: RegressionConfig,
                 obs_dims: Mapping[str, int], action_dim: int, stats: Mapping) -> nn.Module:
    if kind == 'diffusion':
        return DiffusionPolicy(policy_config, dict(obs_dims), int(action_dim), stats)
    if kind == 'regression':
        return RegressionPolicy(regression_config, dict(obs_dims), int(action_dim), stats,
                                n_obs_steps=policy_config.n_obs_steps,
                                horizon=policy_config.horizon)
    raise ValueError(f'unknown policy kind {kind!r} (expected one of {KINDS})')


def objective_for(kind: str, policy: nn.Module, policy_config: PolicyConfig) -> nn.Module:
    from dil_ros.training.objectives import DiffusionObjective, RegressionObjective
    cls = DiffusionObjective if kind == 'diffusion' else RegressionObjective
    return cls(policy, policy_config)


def count_parameters(module: nn.Module) -> Dict[str, int]:
    return {'total': sum(p.numel() for p in module.parameters()),
            'trainable': sum(p.numel() for p in module.parameters() if p.requires_grad)}
