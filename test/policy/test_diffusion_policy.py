import pytest
import torch

from dil_ros.errors import DilRosError
from dil_ros.policy.diffusion_policy import DiffusionPolicy

ACTION_DIM = 3



def observations(batch=2, to=2):
    torch.manual_seed(1)
    return {'observation.state': torch.rand(batch, to, 3) * 2 - 1,
            'observation.environment_state': torch.rand(batch, to, 3)}


@pytest.mark.parametrize('prediction_type', ['epsilon', 'sample'])
def test_scripted_matches_eager_on_same_noise(prediction_type, tiny_policy):
    policy = tiny_policy(prediction_type=prediction_type)
    scripted = torch.jit.script(policy)
    frozen = torch.jit.freeze(torch.jit.script(policy))
    obs, noise = observations(), torch.randn(2, 16, ACTION_DIM)
    with torch.no_grad():
        eager = policy(obs, noise)
        assert eager.shape == (2, 16, ACTION_DIM)
        assert (scripted(obs, noise) - eager).abs().max().item() <= 1e-5
        assert (frozen(obs, noise) - eager).abs().max().item() <= 1e-5


def test_forward_is_normalise_sample_unnormalise(tiny_policy):
    """The chunk equals the sampler run by hand on the normalised, sorted-key condition."""
    policy = tiny_policy()
    obs, noise = observations(), torch.randn(2, 16, ACTION_DIM)
    n = policy.normalizer
    cond = torch.cat([n.normalize(k, obs[k]) for k in sorted(obs)], dim=-1).reshape(2, -1)
    assert policy.global_cond(policy.normalize_obs(obs)).shape == (2, policy.global_cond_dim)
    with torch.no_grad():
        x = noise
        for i in range(policy.sampler.num_steps):
            x = policy.sampler.step(policy.model(x, policy.sampler.timesteps[i], cond), i, x)
        torch.testing.assert_close(policy(obs, noise), n.unnormalize('action', x))
    # clip_sample keeps normalised actions in [-1, 1]: physical actions stay within the stats
    assert x.abs().max() <= 1 + 1e-6


def test_random_noise_when_none_given(tiny_policy):
    policy = tiny_policy()
    with torch.no_grad():
        obs = observations()
        a, b = policy(obs), policy(obs)
    assert a.shape == (2, 16, ACTION_DIM) and (a - b).abs().max() > 0


def test_bad_inputs_name_the_key(tiny_policy):
    scripted = torch.jit.script(tiny_policy())
    obs = observations()
    with pytest.raises(Exception, match='missing observation key observation.state'):
        scripted({'observation.environment_state': obs['observation.environment_state']}, None)
    obs['observation.state'] = torch.rand(2, 3, 3)
    with pytest.raises(Exception, match=r'observation.state: expected shape \[B, 2, 3\], got '
                                        r'\[2, 3, 3\]'):
        scripted(obs, None)
    with pytest.raises(Exception, match=r'noise: expected shape \[2, 16, 3\]'):
        scripted(observations(), torch.randn(2, 8, 3))


def test_constructor_checks_stats_against_dims(tiny_config, obs_dims, stats):
    with pytest.raises(DilRosError, match='normaliser stats: action: missing'):
        DiffusionPolicy(tiny_config(), obs_dims, ACTION_DIM,
                        {k: v for k, v in stats.items() if k != 'action'})
    with pytest.raises(DilRosError, match='observation.state: 3 values, but the policy expects 4'):
        DiffusionPolicy(tiny_config(), {**obs_dims, 'observation.state': 4}, ACTION_DIM, stats)
