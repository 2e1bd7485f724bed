"""A diffusion policy with cameras: raw uint8 frames in, features in the U-Net condition."""
import pytest
import torch

from dil_ros.policy.diffusion_policy import DiffusionPolicy
from dil_ros.policy.export import script_policy
from dil_ros.policy.vision_encoder import VisionConfig
from dil_ros.policy.vision_preprocess import CameraSpec

FRONT = 'observation.images.front'
WRIST = 'observation.images.wrist'
SMALL = VisionConfig(base_width=16, num_keypoints=4, feature_dim=8)


OBS_DIMS = {'observation.state': 3, 'observation.environment_state': 3}


@pytest.fixture
def vision_policy(tiny_config, stats):
    """DiffusionPolicy factory with cameras (eval mode, seeded), small encoder."""
    def make(cameras=(CameraSpec(FRONT, 48, 48, (40, 40)),), vision=SMALL, obs_dims=OBS_DIMS):
        torch.manual_seed(0)
        return DiffusionPolicy(tiny_config(), obs_dims, 3, stats, cameras=cameras,
                               vision=vision).eval()
    return make


def observations(keys=(FRONT,), batch=2, size=(40, 48), seed=0):
    """Low-dim observations and uint8 frames at a native size other than the policy's."""
    g = torch.Generator().manual_seed(seed)
    obs = {k: torch.randn(batch, 2, d, generator=g) for k, d in OBS_DIMS.items()}
    for key in keys:
        obs[key] = torch.randint(0, 256, (batch, 2, *size, 3), generator=g, dtype=torch.uint8)
    return obs


def test_condition_holds_lowdim_then_camera_features(vision_policy):
    policy = vision_policy()
    assert policy.global_cond_dim == (3 + 3 + 8) * 2
    obs = observations()
    with torch.no_grad():
        cond = policy.global_cond(policy.normalize_obs(obs)).reshape(2, 2, 14)
        lowdim = torch.cat([policy.normalizer.normalize(k, obs[k]) for k in sorted(OBS_DIMS)], -1)
        assert torch.equal(cond[..., :6], lowdim)
        camera = policy.vision.cameras['observation__images__front']
        assert torch.allclose(cond[..., 6:], camera(obs[FRONT], None), atol=1e-6)


def test_normaliser_has_no_image_statistics(vision_policy):
    policy = vision_policy()
    assert FRONT not in policy.normalizer.keys


def test_scripted_and_frozen_match_eager_on_same_noise_at_native_size(vision_policy):
    cameras = (CameraSpec(FRONT, 48, 48, (40, 40)), CameraSpec(WRIST, 36, 36))
    policy = vision_policy(cameras)
    obs, noise = observations((FRONT, WRIST)), torch.randn(2, 16, 3)
    with torch.no_grad():
        eager = policy(obs, noise)
        for frozen in (False, True):
            scripted = script_policy(policy, freeze=frozen)
            assert (scripted(obs, noise) - eager).abs().max().item() <= 1e-5


def test_actions_depend_on_the_image(vision_policy):
    policy = vision_policy()
    obs, noise = observations(), torch.randn(2, 16, 3)
    other = dict(obs, **{FRONT: 255 - obs[FRONT]})
    with torch.no_grad():
        conds = [policy.global_cond(policy.normalize_obs(o)) for o in (obs, other)]
        steps = [c.reshape(2, 2, 14) for c in conds]              # [B, To, 6 low-dim + 8]
        assert torch.equal(steps[0][..., :6], steps[1][..., :6])
        assert (conds[0] - conds[1]).abs().max() > 1e-3
        # An untrained network's chunk is mostly clipped; its noise prediction is not.
        t = torch.tensor([10, 10])
        eps = [policy.model(noise, t, global_cond=c) for c in conds]
        assert (eps[0] - eps[1]).abs().max() > 1e-4


def test_camera_only_policy_and_shared_encoder(vision_policy):
    cameras = (CameraSpec(FRONT, 36, 36), CameraSpec(WRIST, 36, 36))
    shared = VisionConfig(base_width=16, num_keypoints=4, feature_dim=8, share_encoder=True)
    policy = vision_policy(cameras, shared, obs_dims={})
    assert policy.global_cond_dim == 2 * 8 * 2
    encoders = {id(c.encoder) for c in policy.vision.cameras.values()}
    assert len(encoders) == 1
    obs = {k: v for k, v in observations((FRONT, WRIST)).items() if k.startswith('observation.im')}
    with torch.no_grad():
        assert script_policy(policy)(obs, torch.randn(2, 16, 3)).shape == (2, 16, 3)


def test_bad_frames_name_the_key(vision_policy):
    scripted = script_policy(vision_policy())
    obs = observations()
    with pytest.raises(Exception, match='missing observation key observation.images.front'):
        scripted({k: v for k, v in obs.items() if k != FRONT})
    with pytest.raises(Exception, match=r'observation.images.front: expected frames \[B, 2'):
        scripted(dict(obs, **{FRONT: obs[FRONT][:, :1]}))
    with pytest.raises(Exception, match='observation.images.front: expected uint8'):
        scripted(dict(obs, **{FRONT: obs[FRONT].float()}))
