"""The diffusion loss noises normalised actions with diffusers' DDPMScheduler and regresses ε."""
import pytest
import torch
import torch.nn.functional as F

from dil_ros.policy.config import PolicyConfig
from dil_ros.training.builder import build_policy, objective_for
from dil_ros.training.objectives import make_noise_scheduler
from dil_ros.policy.regression import RegressionConfig

STATS = {'observation.state': {'min': [-1.0, 0.0], 'max': [1.0, 2.0]},
         'action': {'min': [-1.0, 0.0], 'max': [1.0, 2.0]}}


def batch(b=4):
    g = torch.Generator().manual_seed(0)
    return ({'observation.state': torch.rand(b, 2, 2, generator=g) * 2 - 1},
            torch.rand(b, 16, 2, generator=g))


@pytest.mark.parametrize('prediction_type', ['epsilon', 'sample'])
def test_diffusion_loss_is_mse_to_the_target(prediction_type):
    cfg = PolicyConfig(down_dims=(16, 32), diffusion_step_embed_dim=16,
                       prediction_type=prediction_type)
    policy = build_policy('diffusion', cfg, RegressionConfig(), {'observation.state': 2}, 2, STATS)
    objective = objective_for('diffusion', policy, cfg)
    obs, action = batch()
    noise, t = objective.draw(action, torch.Generator().manual_seed(1))
    assert noise.shape == action.shape and t.shape == (4,) and int(t.max()) < 100
    loss = objective(obs, action, noise, t)
    # the same computation by hand
    sched = make_noise_scheduler(cfg)
    naction = policy.normalizer.normalize('action', action)
    noisy = sched.add_noise(naction, noise, t)
    ab = sched.alphas_cumprod[t].view(-1, 1, 1)
    assert torch.allclose(noisy, ab.sqrt() * naction + (1 - ab).sqrt() * noise, atol=1e-6)
    cond = policy.global_cond({'observation.state':
                               policy.normalizer.normalize('observation.state',
                                                           obs['observation.state'])})
    pred = policy.model(noisy, t, global_cond=cond)
    target = noise if prediction_type == 'epsilon' else naction
    assert torch.allclose(loss, F.mse_loss(pred, target))
    loss.backward()
    assert all(p.grad is not None for p in policy.model.parameters())


def test_scheduler_settings_follow_policy_config():
    cfg = PolicyConfig(num_train_timesteps=50, beta_schedule='linear', clip_sample=False,
                       num_inference_steps=5, down_dims=(16,))
    sched = make_noise_scheduler(cfg)
    assert sched.config.num_train_timesteps == 50
    assert sched.config.beta_schedule == 'linear' and sched.config.clip_sample is False


def test_regression_loss_and_scripting():
    cfg = PolicyConfig(down_dims=(16,))
    policy = build_policy('regression', cfg, RegressionConfig(hidden_dims=(8,)),
                          {'observation.state': 2}, 2, STATS)
    obs, action = batch()
    objective = objective_for('regression', policy, cfg)
    loss = objective(obs, action)
    assert loss.ndim == 0 and float(loss.detach()) > 0
    scripted = torch.jit.script(policy.eval())
    out = scripted(obs, None)
    assert out.shape == (4, 16, 2)
    assert torch.equal(out, scripted(obs, torch.randn(4, 16, 2)))   # noise is ignored
    with pytest.raises(Exception, match='observation.state'):
        scripted({'observation.state': torch.zeros(4, 3, 2)}, None)
