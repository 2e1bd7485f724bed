"""Faster forms are bound to the policy.ts they were made from, and checked before loading."""
from dataclasses import replace
import shutil
import zipfile

import pytest
import torch

from dil_ros.accel.aot import package_aot
from dil_ros.accel.binding import bind
from dil_ros.accel.errors import AccelError
from dil_ros.accel.forms import export_forms, load_policy_form, sibling_path
from dil_ros.accel.precision import reduced_precision_policy
from dil_ros.accel.synthetic import TINY, export_synthetic, synthetic_policy
from dil_ros.errors import DilRosError
from dil_ros.policy.artifact import load_artifact
from dil_ros.policy.digest import file_sha256
from dil_ros.policy.export import export_policy


@pytest.fixture
def policy_ts(exported, tmp_path):
    """(eager policy, a private copy of its policy.ts)."""
    policy, source = exported
    path = tmp_path / 'policy.ts'
    shutil.copy(source, path)
    return policy, path


def replace_policy_ts(path):
    """Another export written over policy.ts; returns (old, new) sha256."""
    old = file_sha256(path)
    export_synthetic(synthetic_policy(TINY, num_inference_steps=4, seed=7), path)
    return old, file_sha256(path)


def test_bf16_form_records_policy_ts_and_is_refused_after_policy_ts_changes(policy_ts):
    policy, path = policy_ts
    export_forms(policy, path, ['bf16'], device='cpu')
    form = load_policy_form(path, 'bf16', 'cpu')
    assert form.meta['made_from'] == {'file': 'policy.ts', 'sha256': file_sha256(path)}
    old, new = replace_policy_ts(path)
    with pytest.raises(AccelError) as err:
        load_policy_form(path, 'bf16', 'cpu')
    assert str(err.value) == (
        f'{sibling_path(path, "bf16")}: made from a policy.ts with sha256 {old}, but {path} has '
        f'sha256 {new}; export the forms again from this policy.ts')
    with pytest.raises(AccelError, match='expected ' + 'a' * 64):   # a pinned policy.ts
        load_policy_form(path, 'bf16', 'cpu', policy_sha256='a' * 64)


def _rewrite(path, change):
    """Rewrite the archive, ``change(name, data) -> data`` for every entry."""
    entries = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entries[info.filename] = change(info.filename, archive.read(info))
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_tampered_or_unbound_form_is_refused(policy_ts):
    policy, path = policy_ts
    export_forms(policy, path, ['bf16'], device='cpu')
    form = sibling_path(path, 'bf16')
    flipped = []

    def flip_a_weight(name, data):
        if '/constants/' in name and not flipped and len(data) > 8:
            flipped.append(name)
            return data[:4] + bytes([data[4] ^ 1]) + data[5:]
        return data
    _rewrite(form, flip_a_weight)
    assert flipped
    with pytest.raises(AccelError, match=f'{form}: content sha256 is [0-9a-f]{{64}}, but '
                                         f'[0-9a-f]{{64}} was recorded at export'):
        load_policy_form(path, 'bf16', 'cpu')
    # a bf16 file written without the binding (as before forms were bound) is refused too
    meta = {k: v for k, v in load_artifact(path).meta.items() if k != 'version'}
    export_policy(reduced_precision_policy(policy, 'bf16'), form, meta)
    with pytest.raises(AccelError, match='records no sha256 of the policy.ts it was made from'):
        load_policy_form(path, 'bf16', 'cpu')


def test_form_of_another_contract_is_refused_by_its_own_metadata(policy_ts, contract):
    policy, path = policy_ts
    meta = load_artifact(path).meta
    other = {**meta, 'contract': replace(contract, rate_hz=20.0).to_mapping()}
    meta = {k: v for k, v in bind(other, path, file_sha256(path)).items() if k != 'version'}
    export_policy(reduced_precision_policy(policy, 'bf16'), sibling_path(path, 'bf16'),
                  {**meta, 'precision': 'bf16'}, seal=True)
    load_policy_form(path, 'bf16', 'cpu')                  # bound to policy.ts: loads
    load_artifact(path).require_contract(contract)          # policy.ts itself matches
    with pytest.raises(DilRosError) as err:
        load_policy_form(path, 'bf16', 'cpu', contract=contract)
    assert str(err.value).startswith(f'{sibling_path(path, "bf16")}: trained for another contract')
    assert 'rate_hz: policy 20.0, robot 10.0' in str(err.value)


def test_aot_binding_is_checked_before_the_package_is_loaded(policy_ts, tmp_path, monkeypatch,
                                                             contract):
    """No compile: a package of stand-in files, and the loader replaced by a recorder."""
    _, path = policy_ts
    stand_in = tmp_path / 'model.cpp'
    stand_in.write_text('// not compiled code\n')
    meta = bind(load_artifact(path).meta, path, file_sha256(path))
    meta['aot'] = {'device': 'cpu', 'torch': torch.__version__, 'batch_size': 1,
                   'obs_shapes': {}, 'noise_shape': [1, 16, 3]}
    pt2 = package_aot(sibling_path(path, 'aot'), [str(stand_in)], meta)
    loads = []

    def recording_loader(package, device_index=-1):
        loads.append(package)
        raise RuntimeError('stand-in package')
    monkeypatch.setattr(torch._inductor, 'aoti_load_package', recording_loader)
    other = {**meta, 'contract': replace(contract, rate_hz=20.0).to_mapping()}
    with pytest.raises(AccelError, match='AOTInductor load failed'):
        load_policy_form(path, 'aot', 'cpu', contract=contract)   # binding and contract hold
    assert loads == [str(pt2)]
    old, new = replace_policy_ts(path)
    with pytest.raises(AccelError, match=f'{pt2}: made from a policy.ts with sha256 {old}, '
                                         f'but {path} has sha256 {new}'):
        load_policy_form(path, 'aot', 'cpu')
    package_aot(pt2, [str(stand_in)], bind(other, path, new))
    with pytest.raises(DilRosError, match=f'{pt2}: trained for another contract'):
        load_policy_form(path, 'aot', 'cpu', contract=contract)
    assert loads == [str(pt2)]                                     # never loaded again
