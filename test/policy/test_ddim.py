"""Our DDIM loop against diffusers' DDIMScheduler on the same noise and the same fake model."""
import pytest
import torch
from diffusers import DDIMScheduler

from dil_ros.policy.ddim import DDIMSampler, leading_timesteps, make_betas


def fake_model(x: torch.Tensor, t: int) -> torch.Tensor:
    """A deterministic model output that depends on the sample and the step (and clips often)."""
    return 1.5 * torch.sin(1.3 * x + 0.07 * t) + 0.2 * torch.cos(torch.tensor(0.05 * t))


def run_ours(sampler: DDIMSampler, noise: torch.Tensor) -> torch.Tensor:
    step = torch.jit.script(sampler).step
    x = noise
    for i in range(sampler.num_steps):
        x = step(fake_model(x, int(sampler.timesteps[i])), i, x)
    return x


def run_diffusers(scheduler: DDIMScheduler, steps: int, noise: torch.Tensor) -> torch.Tensor:
    scheduler.set_timesteps(steps)
    x = noise
    for t in scheduler.timesteps:
        x = scheduler.step(fake_model(x, int(t)), t, x).prev_sample
    return x


@pytest.mark.parametrize('prediction_type', ['epsilon', 'sample'])
@pytest.mark.parametrize('steps', [1, 10, 16, 100])
def test_matches_diffusers(steps, prediction_type):
    torch.manual_seed(steps)
    noise = torch.randn(3, 16, 4)
    sampler = DDIMSampler(100, steps, 'squaredcos_cap_v2', prediction_type, True, 1.0)
    ours = run_ours(sampler, noise)
    ref = run_diffusers(DDIMScheduler(num_train_timesteps=100, beta_schedule='squaredcos_cap_v2',
                                      clip_sample=True, prediction_type=prediction_type),
                        steps, noise)
    err = (ours - ref).abs().max().item()
    print(f'DDIM-{steps} {prediction_type}: max abs error {err:.3g}')
    assert err <= 1e-5


@pytest.mark.parametrize('schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2'])
def test_schedules_and_timesteps_match_diffusers(schedule):
    ref = DDIMScheduler(num_train_timesteps=100, beta_schedule=schedule)
    torch.testing.assert_close(make_betas(100, schedule), ref.betas, rtol=0, atol=0)
    ref.set_timesteps(16)
    assert leading_timesteps(100, 16) == ref.timesteps.tolist()


def test_unclipped_linear_schedule_matches_diffusers():
    noise = torch.randn(2, 8, 2)
    ours = run_ours(DDIMSampler(100, 10, 'linear', 'epsilon', clip_sample=False), noise)
    ref = run_diffusers(DDIMScheduler(num_train_timesteps=100, beta_schedule='linear',
                                      clip_sample=False), 10, noise)
    assert (ours - ref).abs().max().item() <= 1e-5


@pytest.mark.parametrize('steps', [1, 2, 3])
def test_trailing_spacing_matches_diffusers(steps):
    """Few-step students (dil-ros distill) sample with diffusers' 'trailing' spacing."""
    noise = torch.randn(2, 16, 3)
    sampler = DDIMSampler(100, steps, 'squaredcos_cap_v2', 'sample', True, 1.0,
                          timestep_spacing='trailing')
    ref = DDIMScheduler(num_train_timesteps=100, beta_schedule='squaredcos_cap_v2',
                        clip_sample=True, prediction_type='sample', timestep_spacing='trailing')
    ref.set_timesteps(steps)
    assert sampler.timesteps.tolist() == ref.timesteps.tolist()
    assert (run_ours(sampler, noise) - run_diffusers(ref, steps, noise)).abs().max() <= 1e-5
