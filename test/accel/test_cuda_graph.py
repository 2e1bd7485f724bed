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
