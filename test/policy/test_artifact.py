import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from dil_ros.contract import contract_from_mapping
from dil_ros.policy.artifact import ArtifactError, check_contract, load_artifact
from dil_ros.policy.export import diffusion_metadata, export_policy

ACTION_DIM = 3


@pytest.fixture(scope='module')
def exported(tmp_path_factory, contract, tiny_policy):
    policy = tiny_policy()
    path = tmp_path_factory.mktemp('artifact') / 'policy.ts'
    meta = diffusion_metadata(policy, contract, data_fingerprint='sha256:abc')
    assert export_policy(policy, path, meta) == path
    return policy, path


def test_round_trip_matches_policy(exported, contract, obs_dims):
    policy, path = exported
    art = load_artifact(path)
    assert art.meta['kind'] == 'diffusion' and art.meta['data_fingerprint'] == 'sha256:abc'
    assert art.meta['version']['format'] == 1 and art.obs_dims == obs_dims
    assert art.meta['contract'] == contract.to_mapping()
    art.require_contract(contract)
    obs = {k: np.random.rand(2, d).astype(np.float32) for k, d in obs_dims.items()}
    noise = np.random.randn(16, ACTION_DIM).astype(np.float32)
    with torch.no_grad():
        expected = policy({k: torch.from_numpy(v)[None] for k, v in obs.items()},
                          torch.from_numpy(noise)[None])[0].numpy()
    got = art(obs, noise)
    assert got.shape == (16, ACTION_DIM)
    assert np.abs(got - expected).max() <= 1e-5
    assert not list(path.parent.glob('.policy.ts.*'))  # no temp file left behind


def test_fresh_interpreter_needs_only_torch(exported):
    _, path = exported
    code = (
        'import sys, numpy as np\n'
        'from dil_ros.policy.artifact import load_artifact\n'
        f'art = load_artifact({str(path)!r})\n'
        "obs = {k: np.zeros((2, d), np.float32) for k, d in art.obs_dims.items()}\n"
        'out = art(obs)\n'
        'assert out.shape == (art.horizon, art.action_dim), out.shape\n'
        "heavy = [m for m in sys.modules if m.split('.')[0] == 'diffusers'\n"
        "         or m.startswith('dil_ros.training') or m == 'dil_ros.policy.diffusion_policy']\n"
        'assert not heavy, heavy\n'
        "print('ok')\n")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'ok'


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match='nope.ts: policy file not found'):
        load_artifact(tmp_path / 'nope.ts')


def test_truncated_file(exported, tmp_path):
    data = exported[1].read_bytes()
    bad = tmp_path / 'half.ts'
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(ArtifactError, match='half.ts: not a TorchScript archive .*truncated'):
        load_artifact(bad)


def test_garbage_file(tmp_path):
    bad = tmp_path / 'garbage.ts'
    bad.write_bytes(b'\x00not a policy\xff' * 100)
    with pytest.raises(ArtifactError, match='garbage.ts: not a TorchScript archive'):
        load_artifact(bad)


def test_zip_that_is_not_torchscript(tmp_path):
    bad = tmp_path / 'plain.zip'
    with zipfile.ZipFile(bad, 'w') as z:
        z.writestr('hello.txt', 'hi')
    with pytest.raises(ArtifactError, match='plain.zip: TorchScript load failed'):
        load_artifact(bad)


def test_missing_extra_file(tmp_path, tiny_policy):
    path = tmp_path / 'bare.ts'
    torch.jit.save(torch.jit.script(tiny_policy()), str(path))
    with pytest.raises(ArtifactError, match='bare.ts: no dil_ros.json inside'):
        load_artifact(path)


def test_missing_metadata_keys_rejected_on_export_and_load(tmp_path, contract, tiny_policy):
    policy = tiny_policy()
    meta = diffusion_metadata(policy, contract, data_fingerprint='x')
    del meta['data_fingerprint'], meta['num_inference_steps']
    with pytest.raises(ArtifactError, match='missing metadata keys: num_inference_steps, '
                                            'data_fingerprint'):
        export_policy(policy, tmp_path / 'a.ts', meta)
    assert not (tmp_path / 'a.ts').exists()
    path = tmp_path / 'b.ts'
    torch.jit.save(torch.jit.script(policy), str(path),
                   _extra_files={'dil_ros.json': json.dumps({'kind': 'diffusion'})})
    with pytest.raises(ArtifactError, match='b.ts: dil_ros.json: missing metadata keys: contract'):
        load_artifact(path)


def test_metadata_must_agree_with_embedded_contract(tmp_path, contract, tiny_policy):
    policy = tiny_policy()
    meta = diffusion_metadata(policy, contract, data_fingerprint='x', horizon=32)
    with pytest.raises(ArtifactError, match='horizon: 32 but the embedded contract says 16'):
        export_policy(policy, tmp_path / 'a.ts', meta)


def test_contract_mismatch_lists_differences(exported, contract):
    art = load_artifact(exported[1])
    other = contract.to_mapping()
    other['rate_hz'] = 20.0
    other['action']['joints'] = ['shoulder_pan', 'shoulder_lift', 'wrist']
    other['limits']['wrist'] = other['limits'].pop('elbow')
    robot = contract_from_mapping(other, 'robot.yaml')
    diffs = check_contract(art.meta, robot)
    assert 'rate_hz: policy 10.0, robot 20.0' in diffs
    with pytest.raises(ArtifactError) as err:
        art.require_contract(robot)
    msg = str(err.value)
    assert 'trained for another contract than robot.yaml' in msg
    assert 'rate_hz: policy 10.0, robot 20.0' in msg
    assert "action.joints: policy ['shoulder_pan', 'shoulder_lift', 'elbow'], robot " \
           "['shoulder_pan', 'shoulder_lift', 'wrist']" in msg
    assert 'limits' not in msg      # the robot's limits are its own


def test_predict_validates_observations(exported, obs_dims):
    art = load_artifact(exported[1])
    good = {k: np.zeros((2, d)) for k, d in obs_dims.items()}
    with pytest.raises(ArtifactError, match="observation 'observation.state' missing"):
        art({'observation.environment_state': good['observation.environment_state']})
    with pytest.raises(ArtifactError, match=r"'observation.state': expected shape \(2, 3\), "
                                            r'got \(1, 3\)'):
        art({**good, 'observation.state': np.zeros((1, 3))})
    with pytest.raises(ArtifactError, match="'observation.state' holds NaN"):
        art({**good, 'observation.state': np.full((2, 3), np.nan)})
    with pytest.raises(ArtifactError, match=r'noise: expected shape \(16, 3\)'):
        art(good, noise=np.zeros((8, 3)))


def test_regression_baseline_exports_and_loads(tmp_path, contract, stats, obs_dims):
    from dil_ros.policy.regression import RegressionConfig, RegressionPolicy
    policy = RegressionPolicy(RegressionConfig((32,)), obs_dims, 3, stats, 2, 16).eval()
    meta = {'kind': 'regression', 'contract': contract.to_mapping(), 'n_obs_steps': 2,
            'horizon': 16, 'n_action_steps': 8, 'obs_dims': obs_dims, 'action_dim': 3,
            'num_inference_steps': 0, 'data_fingerprint': 'x'}
    art = load_artifact(export_policy(policy, tmp_path / 'mse.ts', meta))
    obs = {k: np.random.rand(2, d) for k, d in obs_dims.items()}
    with torch.no_grad():
        expected = policy({k: torch.tensor(v, dtype=torch.float32)[None]
                           for k, v in obs.items()})[0].numpy()
    assert art.meta['kind'] == 'regression'
    assert np.abs(art(obs) - expected).max() <= 1e-5


def test_export_writes_sha256_and_load_pins_it(exported):
    from dil_ros.policy.digest import file_sha256, sidecar_path
    _, path = exported
    digest = file_sha256(path)
    assert sidecar_path(path).read_text() == f'{digest}  policy.ts\n'
    assert load_artifact(path, sha256=digest).sha256 == digest
    assert load_artifact(path, sha256=f'sha256:{digest.upper()}').sha256 == digest
    other = 'f' * 64
    with pytest.raises(ArtifactError) as err:
        load_artifact(path, sha256=other)
    assert str(err.value) == (f'{path}: sha256 is {digest}, expected {other}; refusing a '
                              f'policy.ts other than the pinned one')
    with pytest.raises(ArtifactError, match=r"expected a sha256 \(64 hex digits.*got 'abc'"):
        load_artifact(path, sha256='abc')
