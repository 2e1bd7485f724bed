import pytest
import torch
import torch.nn.functional as F

from dil_ros.policy.unet import ConditionalUnet1D, conv1d_gemm, SinusoidalPosEmb


def make(**kw):
    torch.manual_seed(0)
    args = dict(input_dim=3, global_cond_dim=12, diffusion_step_embed_dim=16, down_dims=(16, 32),
                kernel_size=5, n_groups=8, cond_predict_scale=True)
    args.update(kw)
    return ConditionalUnet1D(**args).eval()


@pytest.mark.parametrize('down_dims, horizon', [((16, 32), 16), ((8, 16, 32), 16), ((16,), 7)])
def test_output_shape_matches_sample(down_dims, horizon):
    net = make(down_dims=down_dims)
    x = torch.randn(2, horizon, 3)
    out = net(x, torch.tensor([3, 7]), torch.randn(2, 12))
    assert out.shape == (2, horizon, 3)


def test_scripted_matches_eager_and_scalar_timestep_broadcasts():
    net = make()
    scripted = torch.jit.script(net)
    x, cond = torch.randn(2, 16, 3), torch.randn(2, 12)
    with torch.no_grad():
        eager = net(x, torch.tensor([5, 5]), cond)
        torch.testing.assert_close(scripted(x, torch.tensor(5), cond), eager, rtol=0, atol=1e-6)


def test_output_depends_on_timestep_and_condition():
    net = make()
    x, cond = torch.randn(1, 16, 3), torch.randn(1, 12)
    with torch.no_grad():
        base = net(x, torch.tensor([5]), cond)
        assert (net(x, torch.tensor([50]), cond) - base).abs().max() > 1e-4
        assert (net(x, torch.tensor([5]), cond + 1) - base).abs().max() > 1e-4


def test_bias_only_film_halves_cond_encoder():
    scale = make(cond_predict_scale=True).mid_modules[0].cond_encoder[1]
    bias = make(cond_predict_scale=False).mid_modules[0].cond_encoder[1]
    assert scale.out_features == 64 and bias.out_features == 32
    assert bias.in_features == 16 + 12


def test_parameter_names_follow_upstream_layout():
    keys = set(make().state_dict())
    for key in ('diffusion_step_encoder.1.weight', 'diffusion_step_encoder.3.bias',
                'down_modules.0.0.blocks.0.block.0.weight',
                'down_modules.0.0.cond_encoder.1.weight',
                'down_modules.0.0.residual_conv.weight', 'down_modules.0.2.conv.weight',
                'mid_modules.1.blocks.1.block.1.weight', 'up_modules.0.0.residual_conv.weight',
                'up_modules.0.2.conv.weight', 'final_conv.0.block.0.weight', 'final_conv.1.bias'):
        assert key in keys, key


def test_sinusoidal_embedding_formula():
    emb = SinusoidalPosEmb(8)(torch.tensor([0.0, 2.0]))
    freqs = torch.exp(torch.arange(4) * -(torch.log(torch.tensor(10000.0)) / 3))
    expected = torch.cat([torch.sin(2.0 * freqs), torch.cos(2.0 * freqs)])
    torch.testing.assert_close(emb[1], expected)
    torch.testing.assert_close(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))


@pytest.mark.parametrize('cond_predict_scale', [True, False])
def test_film_table_path_matches_forward(cond_predict_scale):
    """The sampler's fast path (FiLM precomputed per chunk, convs as GEMMs) == upstream forward."""
    net = make(cond_predict_scale=cond_predict_scale, down_dims=(8, 16, 32))
    scripted = torch.jit.script(net)
    x, cond = torch.randn(3, 16, 3), torch.randn(3, 12)
    timesteps = torch.tensor([90, 45, 0])
    with torch.no_grad():
        for fn in (net, scripted):
            table = fn.film_table(timesteps, cond)
            for i, t in enumerate(timesteps):
                expected = net(x, t, cond)
                torch.testing.assert_close(fn.forward_table(x, table, i), expected,
                                           rtol=0, atol=1e-5)


@pytest.mark.parametrize('stride, padding, kernel', [(1, 2, 5), (2, 1, 3), (1, 0, 1)])
def test_conv1d_gemm_matches_conv1d(stride, padding, kernel):
    x, w, b = torch.randn(2, 6, 16), torch.randn(4, 6, kernel), torch.randn(4)
    torch.testing.assert_close(conv1d_gemm(x, w, b, stride, padding),
                               F.conv1d(x, w, b, stride=stride, padding=padding),
                               rtol=1e-5, atol=1e-5)
