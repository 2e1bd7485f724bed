import pytest
import torch

from dil_ros.accel.cuda_graph import CudaGraphPolicy
from dil_ros.accel.errors import AccelError
from dil_ros.accel.synthetic import TINY, synthetic_inputs, synthetic_policy
from dil_ros.policy.export import script_policy

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only refusal')
def test_constructing_without_cuda_is_a_clear_error():
    policy = synthetic_policy(TINY, num_inference_steps=2)
    obs, _ = synthetic_inputs(policy)
    with pytest.raises(AccelError, match='needs a CUDA device'):
        CudaGraphPolicy(policy, obs, batch_size=1)


@pytest.fixture(scope='module')
def captured():
    policy = synthetic_policy(TINY, num_inference_steps=10).cuda()
    scripted = script_policy(policy)
    obs, noise = synthetic_inputs(policy, batch_size=2, device='cuda')
    return scripted, CudaGraphPolicy(scripted, obs, batch_size=2), obs, noise


@needs_cuda
def test_replay_matches_policy_ts_on_the_same_noise(captured):
    scripted, graph, obs, noise = captured
    with torch.no_grad():
        expected = scripted(obs, noise)
    for _ in range(3):  # replays reuse the static buffers
        got = graph(obs, noise)
        assert (got - expected).abs().max().item() <= 1e-3 * 4
    other = {k: v.flip(0) for k, v in obs.items()}
    with torch.no_grad():
        assert (graph(other, noise) - scripted(other, noise)).abs().max().item() <= 4e-3


@needs_cuda
def test_fresh_noise_and_cpu_inputs(captured):
    _, graph, obs, _ = captured
    a = graph({k: v.cpu() for k, v in obs.items()})
    b = graph(obs)
    assert a.device.type == 'cuda' and a.shape == b.shape and not torch.equal(a, b)


@needs_cuda
def test_shape_change_is_refused(captured):
    _, graph, obs, noise = captured
    with pytest.raises(AccelError, match='cannot change shape'):
        graph({k: v[:1] for k, v in obs.items()}, noise[:1])
    with pytest.raises(AccelError, match='keys'):
        graph({'observation.state': obs['observation.state']}, noise)


@pytest.fixture(scope='module')
def camera_captured():
    """policy.ts of a tiny camera policy (40x40 input, 36x36 crop) captured at its input size."""
    from dil_ros.accel.synthetic import camera_contract
    from dil_ros.policy.vision_encoder import VisionConfig
    contract = camera_contract(1, size=40, crop=36)
    policy = synthetic_policy(TINY, num_inference_steps=4, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=8,
                                                  feature_dim=16)).cuda()
    scripted = script_policy(policy)
    obs, noise = synthetic_inputs(policy, device='cuda')
    graph = CudaGraphPolicy(scripted, {k: torch.zeros_like(v) for k, v in obs.items()})
    return policy, scripted, graph, obs, noise


@needs_cuda
def test_camera_policy_replays_uint8_frames_at_any_native_size(camera_captured):
    from dil_ros.accel.parity import TOLERANCE, action_range
    policy, scripted, graph, obs, noise = camera_captured
    key = policy.cameras[0].key
    bound = TOLERANCE['cuda_graph'] * action_range(policy)
    native = dict(obs)
    native[key] = torch.randint(0, 256, (1, 2, 60, 80, 3), dtype=torch.uint8, device='cuda')
    for inputs in (obs, native, obs):     # 40x40, then a native 60x80 (captured on demand)
        with torch.no_grad():
            expected = scripted(inputs, noise)
        err = (graph(inputs, noise) - expected).abs().max().item()
        print(f'cuda_graph camera {list(inputs[key].shape)}: max abs err {err:.3g}')
        assert err <= bound
    assert graph.captured_frame_sizes == [{key: (40, 40)}, {key: (60, 80)}]
    other = dict(obs)
    other[key] = obs[key].flip(2)          # another image, same size: the same graph, new result
    with torch.no_grad():
        assert (graph(other, noise) - scripted(other, noise)).abs().max().item() <= bound
    with pytest.raises(AccelError, match='expected uint8 frames'):
        graph({**obs, key: obs[key].float()}, noise)
    with pytest.raises(AccelError, match='cannot change shape'):
        graph({**obs, key: obs[key][:, :1]}, noise)      # To is fixed
    for height in (30, 34):                   # sizes 3 and 4 of MAX_FRAME_SIZES
        graph({**obs, key: obs[key][:, :, :height].contiguous()}, noise)
    with pytest.raises(AccelError, match='sizes are captured already'):
        graph({**obs, key: obs[key][:, :, :35].contiguous()}, noise)
