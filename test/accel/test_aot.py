"""policy.pt2 (torch.export + AOTInductor) against policy.ts on the same noise.

The compile alone takes 35-140 s on the shared 2-core CPU even for the tiny net, hence slow.
"""
import pytest
import torch

from dil_ros.accel.aot import read_aot_metadata
from dil_ros.accel.errors import AccelError
from dil_ros.accel.forms import export_forms, load_policy_form, sibling_path
from dil_ros.accel.synthetic import (TINY, camera_contract, export_synthetic, synthetic_inputs,
                                     synthetic_policy)
from dil_ros.policy.artifact import load_artifact
from dil_ros.policy.digest import archive_sha256, file_sha256
from dil_ros.policy.vision_encoder import VisionConfig


def test_read_metadata_of_a_non_package_names_the_file(tmp_path):
    with pytest.raises(AccelError, match='not found'):
        read_aot_metadata(tmp_path / 'policy.pt2')
    bad = tmp_path / 'bad.pt2'
    bad.write_text('not a zip')
    with pytest.raises(AccelError, match='bad.pt2'):
        read_aot_metadata(bad)


@pytest.mark.slow
def test_aot_package_matches_policy_ts_and_carries_metadata(tmp_path):
    policy = synthetic_policy(TINY, num_inference_steps=2)
    path = export_synthetic(policy, tmp_path / 'policy.ts')
    report = export_forms(policy, path, ['aot'], device='cpu')
    pt2 = sibling_path(path, 'aot')
    assert report['aot']['max_abs_err'] <= 1e-5
    meta = read_aot_metadata(pt2)
    ts_meta = load_artifact(path).meta
    assert {k: meta[k] for k in ts_meta} == ts_meta
    assert meta['made_from'] == {'file': 'policy.ts', 'sha256': file_sha256(path)}
    assert meta['content_sha256'] == archive_sha256(pt2)
    assert meta['aot']['device'] == 'cpu' and meta['aot']['batch_size'] == 1
    form = load_policy_form(path, 'aot', 'cpu')
    obs, noise = synthetic_inputs(policy, seed=5)
    reference = load_policy_form(path, 'torchscript', 'cpu')
    assert (form(obs, noise) - reference(obs, noise)).abs().max().item() <= 1e-5
    reordered = {k: obs[k] for k in reversed(list(obs))}
    assert torch.equal(form(reordered, noise), form(obs, noise))
    with pytest.raises(AccelError, match='compiled for shape'):
        form({k: v.repeat(2, 1, 1) for k, v in obs.items()})
    if not torch.cuda.is_available():
        with pytest.raises(AccelError, match="compiled for 'cpu'"):
            from dil_ros.accel.aot import load_aot
            load_aot(pt2, torch.device('cuda'))


@pytest.mark.slow
def test_camera_policy_aot_on_cpu(tmp_path):
    """A camera policy compiles with uint8 frame inputs whose H x W stay dynamic: the package
    matches policy.ts at the policy's input size and at native sizes it never saw (policy.ts
    resizes inside; so does the package). Compiling takes 4-6 minutes on the shared 2 cores."""
    contract = camera_contract(1, size=40, crop=36)
    policy = synthetic_policy(TINY, num_inference_steps=2, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=8, feature_dim=16))
    path = export_synthetic(policy, tmp_path / 'policy.ts', contract)
    report = export_forms(policy, path, ['aot'], device='cpu')
    assert report['aot']['max_abs_err'] <= 1e-5
    key = policy.cameras[0].key
    built = read_aot_metadata(sibling_path(path, 'aot'))['aot']
    assert built['obs_shapes'][key] == [1, 2, None, None, 3]
    assert built['obs_shapes']['observation.state'] == [1, 2, 3]
    assert built['obs_dtypes'] == {key: 'uint8', 'observation.environment_state': 'float32',
                                   'observation.state': 'float32'}
    form = load_policy_form(path, 'aot', 'cpu')
    reference = load_policy_form(path, 'torchscript', 'cpu')
    obs, noise = synthetic_inputs(policy, seed=5)
    gen = torch.Generator().manual_seed(6)
    outputs = []
    for size in [(40, 40), (48, 64), (480, 640)]:
        frames = torch.randint(0, 256, (1, 2, *size, 3), generator=gen, dtype=torch.uint8)
        inputs = {**obs, key: frames}
        outputs.append(form(inputs, noise))
        assert (outputs[-1] - reference(inputs, noise)).abs().max().item() <= 1e-5, size
    assert (outputs[0] - outputs[1]).abs().max().item() > 1e-6     # the frames are read
    with pytest.raises(AccelError, match='compiled for uint8, got float32'):
        form({**obs, key: obs[key].float()}, noise)
    with pytest.raises(AccelError, match=r"compiled for shape \[1, 2, 'any', 'any', 3\]"):
        form({**obs, key: obs[key][:, :1]}, noise)
