"""policy.ts with cameras: uint8 frames at native size in, eager parity, camera metadata."""
import numpy as np
import pytest
import torch

from dil_ros.accel.synthetic import TINY, camera_contract, export_synthetic, synthetic_policy
from dil_ros.policy.artifact import ArtifactError, load_artifact
from dil_ros.policy.export import diffusion_metadata, export_policy
from dil_ros.policy.vision_encoder import VisionConfig

SMALL = VisionConfig(base_width=16, num_keypoints=8, feature_dim=16)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    contract = camera_contract(2, size=48, crop=40)
    policy = synthetic_policy(TINY, num_inference_steps=4, contract=contract, vision=SMALL)
    path = export_synthetic(policy, tmp_path_factory.mktemp('vision') / 'policy.ts', contract)
    return policy, contract, path


def test_policy_ts_matches_eager_on_frames_of_another_size(exported):
    policy, _, path = exported
    artifact = load_artifact(path)
    gen = torch.Generator().manual_seed(3)
    obs = {k: torch.rand(2, 2, d, generator=gen) * 2 - 1 for k, d in policy.obs_dims.items()}
    for key in ('observation.images.cam0', 'observation.images.cam1'):   # native 60x80
        obs[key] = torch.randint(0, 256, (2, 2, 60, 80, 3), generator=gen, dtype=torch.uint8)
    noise = torch.randn(2, 16, policy.action_dim, generator=gen)
    with torch.no_grad():
        err = (artifact.module(obs, noise) - policy(obs, noise)).abs().max().item()
    assert err <= 1e-5


def test_metadata_records_the_cameras(exported):
    _, _, path = exported
    meta = load_artifact(path).meta
    assert meta['image_shapes'] == {'observation.images.cam0': [48, 48, 3],
                                    'observation.images.cam1': [48, 48, 3]}
    assert meta['cameras']['observation.images.cam0'] == {'height': 48, 'width': 48,
                                                          'crop': [40, 40]}
    assert meta['vision_config']['base_width'] == 16
    assert 'observation.images.cam0' not in meta['obs_dims']


def test_state_only_metadata_has_no_camera_entries(tmp_path):
    policy = synthetic_policy(TINY, num_inference_steps=2)
    meta = load_artifact(export_synthetic(policy, tmp_path / 'policy.ts')).meta
    assert not {'image_shapes', 'cameras', 'vision_config'} & set(meta)


def test_metadata_whose_cameras_differ_from_the_contract_is_refused(exported, tmp_path):
    policy, contract, _ = exported
    meta = diffusion_metadata(policy, contract, 'synthetic')
    meta['image_shapes']['observation.images.cam1'] = [96, 96, 3]
    with pytest.raises(ArtifactError, match='image_shapes .* do not match the embedded'):
        export_policy(policy, tmp_path / 'bad.ts', meta)


def test_predict_takes_uint8_frames_and_names_a_bad_camera(exported):
    policy, _, path = exported
    artifact = load_artifact(path)
    rng = np.random.default_rng(0)
    obs = {k: rng.uniform(-1, 1, (2, d)) for k, d in policy.obs_dims.items()}
    for key in artifact.image_shapes:
        obs[key] = rng.integers(0, 256, (2, 30, 40, 3), dtype=np.uint8)
    noise = rng.standard_normal((16, policy.action_dim))
    actions = artifact.predict(obs, noise)
    assert actions.shape == (16, policy.action_dim)
    with pytest.raises(ArtifactError, match="camera 'observation.images.cam1': expected uint8"):
        artifact.predict(dict(obs, **{'observation.images.cam1': obs[key][..., 0]}), noise)
    with pytest.raises(ArtifactError, match="camera 'observation.images.cam0' missing"):
        artifact.predict({k: v for k, v in obs.items() if not k.endswith('cam0')}, noise)


def test_bf16_form_of_a_camera_policy_is_written_and_checked(exported):
    from dil_ros.accel.forms import export_forms, load_policy_form
    policy, _, path = exported
    report = export_forms(policy, path, ['bf16'], device='cpu')['bf16']
    assert 0 < report['max_abs_err'] <= report['bound']
    form = load_policy_form(path, 'bf16', device='cpu')
    assert form.meta['image_shapes'] == load_artifact(path).image_shapes
