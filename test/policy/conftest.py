"""Tiny networks and statistics shared by the policy tests (kept small for 2 shared CPU cores)."""
import pytest

from dil_ros.policy.config import PolicyConfig
from dil_ros.policy.diffusion_policy import DiffusionPolicy

OBS_DIMS = {'observation.state': 3, 'observation.environment_state': 3}
STATS = {
    'observation.state': {'min': [-2.6, -1.6, -2.6], 'max': [2.6, 1.6, 2.6]},
    'observation.environment_state': {'min': [0.2, -0.3, 0.5], 'max': [0.6, 0.3, 0.5]},
    'action': {'min': [-2.0, -1.0, -2.0], 'max': [2.0, 1.0, 2.0]},
}


@pytest.fixture
def obs_dims():
    """Observation sizes of config/contracts/mujoco_arm.yaml; the action has 3 joints."""
    return dict(OBS_DIMS)


@pytest.fixture
def stats():
    return {k: dict(v) for k, v in STATS.items()}


@pytest.fixture(scope='session')
def tiny_config():
    """PolicyConfig factory: U-Net (16, 32), DDIM-4, overridable per test."""
    def make(**overrides) -> PolicyConfig:
        values = dict(down_dims=(16, 32), diffusion_step_embed_dim=16, kernel_size=3,
                      num_inference_steps=4)
        values.update(overrides)
        return PolicyConfig(**values)
    return make


@pytest.fixture(scope='session')
def tiny_policy(tiny_config):
    """DiffusionPolicy factory (eval mode, seeded) for the mujoco_arm dims."""
    def make(**overrides) -> DiffusionPolicy:
        import torch
        torch.manual_seed(0)
        return DiffusionPolicy(tiny_config(**overrides), OBS_DIMS, 3, STATS).eval()
    return make
