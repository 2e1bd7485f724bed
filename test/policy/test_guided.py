"""Guided DDIM (policy/guided.py): the prefix is honoured, the plain call is unchanged, and the
exported policy.ts gives the eager policy's numbers."""
import pytest
import torch

from dil_ros.policy.export import diffusion_metadata, export_policy
from dil_ros.policy.guided import guided_step


def inputs(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = {'observation.state': torch.rand(batch, 2, 3, generator=g) * 2 - 1,
           'observation.environment_state': torch.rand(batch, 2, 3, generator=g) * 0.2 + 0.3}
    noise = torch.randn(batch, 16, 3, generator=g)
    prefix = torch.rand(batch, 16, 3, generator=g) * 2 - 1
    weight = torch.zeros(batch, 16)
    weight[:, :5] = 1.0                                   # frozen: executes during inference
    weight[:, 5:10] = torch.linspace(0.8, 0.1, 5)         # soft over the rest of the overlap
    return obs, noise, prefix, weight


def test_zero_weight_is_the_plain_sampler_exactly(tiny_policy):
    policy = tiny_policy()
    obs, noise, prefix, weight = inputs()
    with torch.no_grad():
        plain = policy(obs, noise)
        guided = policy(obs, noise, prefix, torch.zeros_like(weight))
    assert torch.equal(plain, guided)


@pytest.mark.parametrize('prediction_type', ['epsilon', 'sample'])
def test_frozen_actions_come_out_as_the_prefix(tiny_policy, prediction_type):
    policy = tiny_policy(prediction_type=prediction_type)
    obs, noise, prefix, weight = inputs()
    with torch.no_grad():
        plain = policy(obs, noise)
        guided = policy(obs, noise, prefix, weight)
    # the last DDIM step goes to alpha_bar = 1: weight-1 actions equal the target
    torch.testing.assert_close(guided[:, :5], prefix[:, :5], atol=1e-4, rtol=0)
    # the soft part is pulled toward the target, closer than the plain chunk
    assert ((guided[:, 5:10] - prefix[:, 5:10]).abs().mean()
            < (plain[:, 5:10] - prefix[:, 5:10]).abs().mean())


def test_guided_step_is_ddim_with_blended_prediction():
    """The closed form of the docstring: x0' = x0 + W (y - x0) and eps' consistent with it."""
    torch.manual_seed(1)
    x, eps, y = torch.randn(1, 4, 2), torch.randn(1, 4, 2), torch.randn(1, 4, 2)
    w = torch.tensor([1.0, 0.5, 0.0, 0.25]).view(1, 4, 1)
    a, a_prev = 0.3, 0.7
    out = guided_step(eps, x, y, w, a ** 0.5, (1 - a) ** 0.5, a_prev ** 0.5,
                      (1 - a_prev) ** 0.5, True, False, 1.0)
    x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
    x0g = x0 + w * (y - x0)
    eps_g = (x - a ** 0.5 * x0g) / (1 - a) ** 0.5
    torch.testing.assert_close(out, a_prev ** 0.5 * x0g + (1 - a_prev) ** 0.5 * eps_g)


@pytest.fixture(scope='module')
def exported(tiny_policy, contract, tmp_path_factory):
    """(eager policy, the policy.ts written from it, loaded): scripted once for the module."""
    policy = tiny_policy()
    path = export_policy(policy, tmp_path_factory.mktemp('guided') / 'policy.ts',
                         diffusion_metadata(policy, contract, data_fingerprint='x'))
    return policy, torch.jit.load(str(path))


def test_exported_policy_matches_eager(exported):
    policy, loaded = exported
    obs, noise, prefix, weight = inputs()
    with torch.no_grad():
        eager = policy(obs, noise, prefix, weight)
        exported = loaded(obs, noise, prefix, weight)
        plain_exported = loaded(obs, noise)
        plain_eager = policy(obs, noise)
    err = (eager - exported).abs().max().item()
    assert err <= 1e-5, err
    assert (plain_eager - plain_exported).abs().max().item() <= 1e-5


def test_bad_shapes_name_the_input(exported):
    scripted = exported[1]
    obs, noise, prefix, weight = inputs()
    with pytest.raises(Exception, match='prefix_weight: expected shape'):
        scripted(obs, noise, prefix, weight[:, :3])
    with pytest.raises(Exception, match='prefix: expected shape'):
        scripted(obs, noise, prefix[:, :4], weight)
    with pytest.raises(Exception, match='both or neither'):
        scripted(obs, noise, prefix, None)


def test_bf16_form_takes_the_prefix(tiny_policy):
    """The scripted reduced-precision form (policy.bf16.ts) runs the guided call too; aot,
    cuda_graph and onnx trace the plain call only (README: guided hand-over)."""
    from dil_ros.accel.precision import reduced_precision_policy
    from dil_ros.policy.export import script_policy
    policy = tiny_policy()
    scripted = script_policy(reduced_precision_policy(policy, 'bf16'))
    obs, noise, prefix, weight = inputs()
    with torch.no_grad():
        out = scripted(obs, noise, prefix, weight)
        ref = policy(obs, noise, prefix, weight)
    torch.testing.assert_close(out[:, :5], prefix[:, :5], atol=1e-3, rtol=0)
    assert (out - ref).abs().max().item() < 0.1     # bf16 rounding of the network only
