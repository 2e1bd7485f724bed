"""Seeded random policies on the mujoco_arm contract, kept tiny for 2 shared CPU cores."""
import pytest


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see test/conftest.py)."""


@pytest.fixture(scope='session')
def exported(tmp_path_factory):
    """(eager tiny policy DDIM-4, path of its policy.ts)."""
    from dil_ros.accel.synthetic import TINY, export_synthetic, synthetic_policy
    policy = synthetic_policy(TINY, num_inference_steps=4)
    path = export_synthetic(policy, tmp_path_factory.mktemp('policy') / 'policy.ts')
    return policy, path
