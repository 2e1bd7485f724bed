"""Forms on CUDA against policy.ts on CUDA, same noise (skipped without a GPU; bench/gpu_check.sh).

fp16/bf16 bounds are parity.TOLERANCE (set from CPU measurements); the printed errors are the GPU
figures to report.
"""
import pytest
import torch

from dil_ros.accel.forms import export_forms, load_policy_form
from dil_ros.accel.parity import TOLERANCE, action_range, max_abs_error
from dil_ros.accel.synthetic import SMALL, export_synthetic, synthetic_inputs, synthetic_policy

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    policy = synthetic_policy(SMALL, num_inference_steps=10, seed=1)
    path = export_synthetic(policy, tmp_path_factory.mktemp('gpu') / 'policy.ts')
    return policy.cuda(), path


@pytest.mark.parametrize('form', ['fp16', 'bf16'])
def test_reduced_precision_on_cuda(exported, form):
    policy, path = exported
    report = export_forms(policy, path, [form], device='cuda')
    print(f'{form} on {torch.cuda.get_device_name(0)}: {report[form]}')
    assert report[form]['max_abs_err'] <= report[form]['bound']


def test_cuda_graph_form_matches_policy_ts(exported):
    policy, path = exported
    reference = load_policy_form(path, 'torchscript', 'cuda')
    graph = load_policy_form(path, 'cuda_graph', 'cuda')
    assert graph.form == 'cuda_graph'
    obs, noise = synthetic_inputs(policy, device='cuda')
    err = max_abs_error(reference, graph, obs, noise)
    print(f'cuda_graph max abs err {err:.3g}')
    assert err <= TOLERANCE['cuda_graph'] * action_range(policy)


@pytest.mark.slow
def test_aot_on_cuda(exported):
    policy, path = exported
    report = export_forms(policy, path, ['aot'], device='cuda')
    print(f'aot on cuda: {report["aot"]}')
    assert report['aot']['max_abs_err'] <= report['aot']['bound']
    form = load_policy_form(path, 'aot', 'cuda')
    obs, _ = synthetic_inputs(policy, device='cuda')
    assert form(obs).device.type == 'cuda'


def test_cuda_graph_form_of_a_camera_policy_at_native_frame_size(tmp_path):
    """The node's path: the form is captured at the policy's input size (warm-up), the camera
    sends 60x80 frames; the first such call captures again and matches policy.ts."""
    from dil_ros.accel.synthetic import TINY, camera_contract
    from dil_ros.policy.vision_encoder import VisionConfig
    contract = camera_contract(1, size=40, crop=36)
    policy = synthetic_policy(TINY, num_inference_steps=4, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=8, feature_dim=16))
    path = export_synthetic(policy, tmp_path / 'policy.ts', contract)
    reference = load_policy_form(path, 'torchscript', 'cuda')
    graph = load_policy_form(path, 'cuda_graph', 'cuda')
    obs, noise = synthetic_inputs(policy, device='cuda')
    key = policy.cameras[0].key
    native = {**obs, key: torch.randint(0, 256, (1, 2, 60, 80, 3), dtype=torch.uint8)}
    for inputs in (obs, native):
        err = max_abs_error(reference, graph, inputs, noise)
        print(f'cuda_graph camera policy {list(inputs[key].shape)}: max abs err {err:.3g}')
        assert err <= TOLERANCE['cuda_graph'] * action_range(policy)
