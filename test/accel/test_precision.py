"""bf16/fp16 forms against fp32 policy.ts on the same noise (CPU).

Max abs error per unit of action range, measured on this CPU with random-init nets, batch 8,
seeds 0-2: small net (64, 128, 256) DDIM-10: bf16 0.032, fp16 0.0034; tiny net (16, 32) DDIM-4
and DDIM-10: bf16 up to 0.095, fp16 up to 0.0175. This test (tiny, DDIM-4, batch 2, for speed):
bf16 0.013, fp16 0.002. The asserted bounds are parity.TOLERANCE (bf16 0.12, fp16 0.025).
"""
import pytest
import torch

from dil_ros.accel.errors import AccelError
from dil_ros.accel.parity import TOLERANCE, action_range, max_abs_error
from dil_ros.accel.precision import DTYPES, reduced_precision_policy
from dil_ros.accel.synthetic import TINY, synthetic_inputs, synthetic_policy
from dil_ros.policy.export import script_policy


@pytest.fixture(scope='module')
def small():
    policy = synthetic_policy(TINY, num_inference_steps=4, seed=0)
    return policy, script_policy(policy)


@pytest.mark.parametrize('precision', ['bf16', 'fp16'])
def test_reduced_precision_matches_fp32_policy_ts(small, precision):
    policy, reference = small
    obs, noise = synthetic_inputs(policy, batch_size=2, seed=11)
    reduced = script_policy(reduced_precision_policy(policy, precision))
    err = max_abs_error(reference, reduced, obs, noise)
    bound = TOLERANCE[precision] * action_range(policy)
    print(f'{precision}: max abs err {err:.4f} (bound {bound:.4f}, action range '
          f'{action_range(policy)})')
    assert 0 < err <= bound  # > 0: the network really ran in reduced precision


def test_only_the_network_is_cast(small):
    policy, _ = small
    reduced = reduced_precision_policy(policy, 'bf16')
    assert {p.dtype for p in reduced.model.parameters()} == {torch.bfloat16}
    assert {b.dtype for b in reduced.normalizer.buffers()} == {torch.float32}
    assert {p.dtype for p in policy.model.parameters()} == {torch.float32}  # original untouched
    obs, noise = synthetic_inputs(policy)
    assert reduced(obs, noise).dtype == torch.float32


def test_unknown_precision_is_an_error(small):
    with pytest.raises(AccelError, match='int8'):
        reduced_precision_policy(small[0], 'int8')


@pytest.fixture(scope='module')
def with_camera():
    from dil_ros.accel.synthetic import camera_contract
    from dil_ros.policy.vision_encoder import VisionConfig
    policy = synthetic_policy(TINY, num_inference_steps=4, seed=0,
                              contract=camera_contract(1, size=48, crop=40),
                              vision=VisionConfig(base_width=16, num_keypoints=8,
                                                  feature_dim=16))
    return policy, script_policy(policy)


@pytest.mark.parametrize('precision', ['bf16', 'fp16'])
def test_reduced_precision_covers_the_image_encoder(with_camera, precision):
    policy, reference = with_camera
    reduced = reduced_precision_policy(policy, precision)
    camera = reduced.vision.cameras['observation__images__cam0']
    assert {p.dtype for p in camera.encoder.parameters()} == {DTYPES[precision]}
    assert {b.dtype for b in camera.preprocess.buffers()} == {torch.float32}
    original = policy.vision.cameras['observation__images__cam0']
    assert {p.dtype for p in original.encoder.parameters()} == {torch.float32}
    obs, noise = synthetic_inputs(policy, batch_size=2, seed=11)
    err = max_abs_error(reference, script_policy(reduced), obs, noise)
    bound = TOLERANCE[precision] * action_range(policy)
    print(f'{precision} with a camera: max abs err {err:.4f} (bound {bound:.4f})')
    assert 0 < err <= bound
