import pytest
import torch

from dil_ros.accel.errors import AccelError
from dil_ros.accel.forms import FORMS, export_forms, load_policy_form, sibling_path
from dil_ros.accel.synthetic import synthetic_inputs
from dil_ros.errors import DilRosError


def test_torchscript_form_is_policy_ts(exported):
    policy, path = exported
    form = load_policy_form(path, 'torchscript', 'cpu')
    obs, noise = synthetic_inputs(policy, batch_size=2)
    with torch.no_grad():
        assert torch.allclose(form(obs, noise), policy(obs, noise), atol=1e-5)
    assert form.form == 'torchscript' and form.meta['kind'] == 'diffusion'


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU fallback')
def test_cuda_graph_on_a_cpu_machine_falls_back_to_torchscript(exported):
    form = load_policy_form(exported[1], 'cuda_graph', 'cuda')
    assert form.form == 'torchscript' and form.device.type == 'cpu'
    assert 'falling back to cpu' in form.message and 'cuda_graph needs CUDA' in form.message


def test_export_forms_writes_checked_bf16_sibling(exported, tmp_path):
    policy, path = exported
    report = export_forms(policy, path, ['bf16'], device='cpu')
    assert report['bf16']['max_abs_err'] <= report['bf16']['bound']
    assert sibling_path(path, 'bf16').is_file()
    form = load_policy_form(path, 'bf16', 'cpu')
    assert form.meta['precision'] == 'bf16'
    obs, _ = synthetic_inputs(policy)
    assert form(obs).shape == (1, 16, 3)


def test_missing_sibling_and_unknown_form_are_errors(exported, tmp_path):
    _, path = exported
    alone = tmp_path / 'policy.ts'
    alone.write_bytes(path.read_bytes())
    for form in ('fp16', 'aot'):
        with pytest.raises(AccelError, match='export_forms'):
            load_policy_form(alone, form, 'cpu')
    with pytest.raises(DilRosError, match='expected one of ' + ', '.join(FORMS)):
        load_policy_form(alone, 'tensorrt', 'cpu')
