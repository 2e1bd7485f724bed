"""Form onnx: parity with policy.ts on the same noise, binding refusals, the policy node."""
import json
from pathlib import Path
import sys

import pytest
import torch

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from dil_ros.accel.errors import AccelError  # noqa: E402
from dil_ros.accel.forms import export_forms, load_policy_form, sibling_path  # noqa: E402
from dil_ros.accel.synthetic import synthetic_inputs  # noqa: E402

FP32_BOUND = 1e-4   # issue 14: fp32 onnx within 1e-4 of policy.ts on the same noise


@pytest.fixture(scope='module')
def onnx_state(exported, tmp_path_factory):
    """(eager tiny policy DDIM-4, its policy.ts with policy.onnx beside it, export report, the
    eager policy as reference). export_forms compares policy.onnx with policy.ts on the same
    noise; further checks use the eager policy (= policy.ts within 1e-5, test_forms.py), because
    TorchScript's first calls take minutes on a loaded 2-core machine."""
    policy, source = exported
    path = tmp_path_factory.mktemp('onnx') / 'policy.ts'
    path.write_bytes(source.read_bytes())
    report = export_forms(policy, path, ['onnx'], device='cpu')
    return policy, path, report['onnx'], policy


@pytest.fixture(scope='module')
def onnx_camera(tmp_path_factory):
    """A tiny policy with one 48x48 camera (crop 40), as policy.ts + policy.onnx."""
    from dil_ros.accel.synthetic import camera_contract, export_synthetic, synthetic_policy
    from dil_ros.policy.vision_encoder import VisionConfig
    torch.set_num_threads(1)
    contract = camera_contract(1, size=48, crop=40)
    from dil_ros.accel.synthetic import TINY
    policy = synthetic_policy(TINY, num_inference_steps=4, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=8,
                                                  feature_dim=16))
    path = export_synthetic(policy, tmp_path_factory.mktemp('onnx_cam') / 'policy.ts', contract)
    export_forms(policy, path, ['onnx'], device='cpu')
    return policy, path, policy


def test_state_policy_matches_policy_ts_on_the_same_noise(onnx_state):
    policy, path, report, reference = onnx_state
    assert report['max_abs_err'] <= min(report['bound'], FP32_BOUND)   # vs policy.ts
    form = load_policy_form(path, 'onnx', 'cpu')
    assert form.form == 'onnx' and form.path == sibling_path(path, 'onnx')
    assert 'onnxruntime CPU provider' in form.message
    for seed in (1, 2):
        obs, noise = synthetic_inputs(policy, seed=seed)
        with torch.no_grad():
            expected = reference(obs, noise)
        assert (form(obs, noise) - expected).abs().max() <= FP32_BOUND
    obs, _ = synthetic_inputs(policy)
    drawn = form(obs)                       # noise drawn inside, as policy.ts does
    assert drawn.shape == (1, 16, 3) and torch.isfinite(drawn).all()


@pytest.mark.slow   # TorchScript's first calls of the camera net: minutes on a loaded 2-core box
def test_camera_policy_takes_uint8_frames_and_matches(onnx_camera):
    from dil_ros.policy.vision_preprocess import resize_frames
    policy, path, reference = onnx_camera
    form = load_policy_form(path, 'onnx', 'cpu')
    obs, noise = synthetic_inputs(policy, seed=4)
    assert obs['observation.images.cam0'].dtype == torch.uint8
    with torch.no_grad():
        expected = reference(obs, noise)
    assert (form(obs, noise) - expected).abs().max() <= FP32_BOUND
    # frames at another native size are resized as the training cache resizes them
    big = torch.randint(0, 256, (1, 2, 64, 80, 3), dtype=torch.uint8)
    small = torch.from_numpy(resize_frames(big.reshape(2, 64, 80, 3).numpy(), 48, 48))
    with torch.no_grad():
        expected = reference({**obs, 'observation.images.cam0': small[None]}, noise)
    got = form({**obs, 'observation.images.cam0': big}, noise)
    assert (got - expected).abs().max() <= FP32_BOUND


def test_wrong_keys_and_shapes_are_named(onnx_state):
    policy, path, _, _ = onnx_state
    form = load_policy_form(path, 'onnx', 'cpu')
    obs, noise = synthetic_inputs(policy)
    with pytest.raises(AccelError, match='observation keys'):
        form({'observation.state': obs['observation.state']}, noise)
    with pytest.raises(AccelError, match="observation 'observation.state': exported for shape"):
        form({**obs, 'observation.state': obs['observation.state'][:, :1]}, noise)
    with pytest.raises(AccelError, match='noise: exported for shape'):
        form(obs, noise[:, :4])


def test_onnx_records_the_policy_ts_it_was_made_from(onnx_state):
    from dil_ros.accel.onnx_export import read_onnx
    from dil_ros.policy.digest import file_sha256, sidecar_path
    path = onnx_state[1]
    onnx_path = sibling_path(path, 'onnx')
    meta, content = read_onnx(onnx_path)
    assert meta['made_from'] == {'file': 'policy.ts', 'sha256': file_sha256(path)}
    assert meta['content_sha256'] == content
    assert meta['onnx']['ddim_loop'] == 'in-graph' and meta['num_inference_steps'] == 4
    assert sidecar_path(onnx_path).read_text().split()[0] == file_sha256(onnx_path)


def test_binding_refusals_come_before_loading(onnx_state, tmp_path):
    import onnx
    from onnx import numpy_helper
    from dil_ros.accel.synthetic import TINY, export_synthetic, synthetic_policy
    from dil_ros.policy.digest import file_sha256
    path = onnx_state[1]
    work = tmp_path / 'policy.ts'
    onnx_path = sibling_path(work, 'onnx')
    onnx_bytes = sibling_path(path, 'onnx').read_bytes()

    # another policy.ts beside the form
    export_synthetic(synthetic_policy(TINY, num_inference_steps=4, seed=5), work)
    onnx_path.write_bytes(onnx_bytes)
    with pytest.raises(AccelError, match=f'made from a policy.ts with sha256 .* but {work} has '
                                         f'sha256 {file_sha256(work)}'):
        load_policy_form(work, 'onnx', 'cpu')

    # the right policy.ts, but one weight of the form changed after export
    work.write_bytes(path.read_bytes())
    model = onnx.load_model_from_string(onnx_bytes)
    init = max(model.graph.initializer, key=lambda t: len(t.raw_data) + len(t.float_data))
    array = numpy_helper.to_array(init).copy()
    array.flat[0] += 1.0
    init.CopyFrom(numpy_helper.from_array(array, init.name))
    onnx_path.write_bytes(model.SerializeToString())
    with pytest.raises(AccelError, match='changed after export'):
        load_policy_form(work, 'onnx', 'cpu')

    # a plain ONNX file without dil_ros metadata, and a file that is no ONNX model
    del model.metadata_props[:]
    onnx_path.write_bytes(model.SerializeToString())
    with pytest.raises(AccelError, match='no dil_ros.json metadata'):
        load_policy_form(work, 'onnx', 'cpu')
    onnx_path.write_bytes(b'\xff not onnx')
    with pytest.raises(AccelError, match='not a readable ONNX model'):
        load_policy_form(work, 'onnx', 'cpu')
    onnx_path.unlink()
    with pytest.raises(AccelError, match='--forms onnx'):
        load_policy_form(work, 'onnx', 'cpu')


def test_policy_sha256_pin_applies_to_the_onnx_form(onnx_state):
    path = onnx_state[1]
    with pytest.raises(AccelError, match='expected ' + 'a' * 64):
        load_policy_form(path, 'onnx', 'cpu', policy_sha256='a' * 64)
    assert json.loads(json.dumps(load_policy_form(
        sibling_path(path, 'onnx'), 'onnx', 'cpu').meta['made_from']))['file'] == 'policy.ts'


def test_openvino_form_reads_the_same_bound_file(onnx_state):
    """form openvino (optional package): the same policy.onnx, bf16 where the CPU has bf16
    units (then the bf16 bound), else fp32 within the fp32 bound."""
    pytest.importorskip('openvino')
    from dil_ros.accel.parity import TOLERANCE, action_range
    policy, path, _, reference = onnx_state
    form = load_policy_form(path, 'openvino', 'cpu')
    assert form.path == sibling_path(path, 'onnx') and 'OpenVINO' in form.message
    compiled = form.fn.session.compiled   # one stream, its thread not pinned (README, a)
    assert compiled.get_property('ENABLE_CPU_PINNING') is False
    assert compiled.get_property('NUM_STREAMS') == 1
    obs, noise = synthetic_inputs(policy, seed=3)
    with torch.no_grad():
        expected = reference(obs, noise)
    tolerance = TOLERANCE['openvino' if 'bf16' in form.message else 'onnx']
    assert (form(obs, noise) - expected).abs().max() <= tolerance * action_range(policy)


def test_optimized_graph_cached_beside_the_file_and_a_bad_cache_ignored(onnx_state, tmp_path):
    """export_forms' own check session wrote the optimised graph; a later load uses it (same
    actions); a cache whose bytes changed is not used and is written again."""
    from dil_ros.accel.onnx_export import read_onnx
    from dil_ros.accel.onnx_runtime import cache_paths, load_onnx
    policy, path, _, _ = onnx_state
    source = sibling_path(path, 'onnx')
    graph, record = cache_paths(source)
    assert graph.is_file() and json.loads(record.read_text())['source_content_sha256'] == \
        read_onnx(source)[0]['content_sha256']
    copy = tmp_path / 'policy.onnx'
    copy.write_bytes(source.read_bytes())
    meta = read_onnx(copy)[0]
    obs, noise = synthetic_inputs(policy, seed=5)
    first = load_onnx(copy, torch.device('cpu'), meta)[0](obs, noise)
    cached, cached_record = cache_paths(copy)
    assert cached.is_file() and cached_record.is_file()
    assert torch.equal(load_onnx(copy, torch.device('cpu'), meta)[0](obs, noise), first)
    cached.write_bytes(b'garbage')   # changed bytes: the record no longer matches
    assert torch.equal(load_onnx(copy, torch.device('cpu'), meta)[0](obs, noise), first)
    assert cached.stat().st_size > 100   # written again


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA and onnxruntime-gpu')
def test_gpu_providers_within_their_bounds(onnx_state):
    from dil_ros.accel.parity import TOLERANCE, action_range
    import onnxruntime
    if 'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
        pytest.skip('onnxruntime without the CUDA provider (install onnxruntime-gpu)')
    policy, path, _, reference = onnx_state
    form = load_policy_form(path, 'onnx', 'cuda')
    obs, noise = synthetic_inputs(policy)
    with torch.no_grad():
        expected = reference(obs, noise)
    tolerance = TOLERANCE['onnx_fp16' if 'TensorRT' in form.message else 'onnx']
    assert (form(obs, noise).cpu() - expected).abs().max() <= tolerance * action_range(policy)


@pytest.mark.ros
def test_policy_node_runs_form_onnx(onnx_state, ros_context):
    """policy_node configures with form:=onnx and says which form and provider it runs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'nodes'))
    from policy_harness import PolicyHarness
    from rclpy.lifecycle import TransitionCallbackReturn
    path = onnx_state[1]
    h = PolicyHarness(policy_path=str(path), form='onnx', start_enabled=True,
                      observation_timeout_s=0.3)
    try:
        assert h.node.trigger_configure() == TransitionCallbackReturn.SUCCESS, h.logs
        assert h.log_has('form onnx on cpu'), h.logs
    finally:
        h.close()
