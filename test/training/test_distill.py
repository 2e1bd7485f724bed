"""Consistency distillation (training/distill.py) on a tiny run: the teacher's grid, resume,
and a student that exports as a normal policy.ts."""
import numpy as np
import pytest
import torch

from dil_ros.training.distill import (ConsistencyDistillation, DistillError, DistillRequest,
                                      distill, student_config)


@pytest.fixture(scope='module')
def teacher(tmp_path_factory, bimodal_dataset, contract_2d):
    from dil_ros.training.config import run_config_from_mapping
    from dil_ros.training.trainer import TrainRequest, train
    run = tmp_path_factory.mktemp('runs') / 'teacher'
    config = run_config_from_mapping({
        'train': {'steps': 4, 'batch_size': 16, 'log_every': 2, 'device': 'cpu'},
        'policy': {'down_dims': [16, 32], 'diffusion_step_embed_dim': 16, 'kernel_size': 3,
                   'num_inference_steps': 4}}, '<tiny>')
    train(TrainRequest(dataset=bimodal_dataset, run_dir=run, config=config,
                       contract=contract_2d, progress=False))
    return run


def request(teacher, out, **kw):
    values = dict(steps=1, train_steps=4, teacher_steps=4, batch_size=8, progress=False,
                  checkpoint_every=2, log_every=1)
    values.update(kw)
    return DistillRequest(teacher=teacher, out=out, **values)


def test_teacher_steps_chain_to_the_teachers_own_sampler(teacher):
    """The loss's per-sample DDIM step, chained over the grid, is the teacher sampling with
    trailing spacing: the student learns the map the teacher's sampler computes."""
    from dil_ros.training.restore import load_run
    policy, _ = load_run(teacher)
    student, _ = load_run(teacher)
    loss = ConsistencyDistillation(policy, student, 4)
    ref, _ = load_run(teacher, num_inference_steps=4)
    ref.sampler = type(ref.sampler)(100, 4, timestep_spacing='trailing')
    torch.manual_seed(0)
    cond = torch.randn(3, policy.global_cond_dim)
    x = torch.randn(3, policy.horizon, policy.action_dim)
    with torch.no_grad():
        expected = ref.conditional_sample(cond, x)
        for i in range(4):
            x = loss._teacher_step(x, torch.full((3,), i), cond)
    torch.testing.assert_close(x, expected, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_resumed_student_ends_with_the_weights_of_an_uninterrupted_one(teacher, tmp_path):
    whole = distill(request(teacher, tmp_path / 'whole'))
    assert whole.step == 4 and np.isfinite(whole.final_loss)
    part = distill(request(teacher, tmp_path / 'part', stop_at=2))
    assert part.step == 2 and part.stopped == 'stopped'
    with pytest.raises(DistillError, match='already holds a checkpoint'):
        distill(request(teacher, tmp_path / 'part'))
    assert distill(request(teacher, tmp_path / 'part', resume=True)).step == 4
    a = torch.load(tmp_path / 'whole/checkpoints/latest.pt', weights_only=True)
    b = torch.load(tmp_path / 'part/checkpoints/latest.pt', weights_only=True)
    for key, value in a['model'].items():
        assert torch.equal(value, b['model'][key]), key
    assert (tmp_path / 'whole/loss.png').is_file() and any((tmp_path / 'whole/tb').iterdir())
    longer = distill(request(teacher, tmp_path / 'whole', resume=True, extend=True,
                             train_steps=6))
    assert longer.step == 6 and len(longer.history) == 6     # log_every 1: one entry a step


@pytest.mark.slow
def test_student_exports_as_a_normal_one_step_policy(teacher, tmp_path):
    from dil_ros.cli.main import main
    from dil_ros.policy.artifact import load_artifact
    distill(request(teacher, tmp_path / 'student', steps=2))
    assert main(['export', str(tmp_path / 'student'), '-o', str(tmp_path / 's.ts')]) == 0
    art = load_artifact(tmp_path / 's.ts')
    assert art.meta['num_inference_steps'] == 2
    assert art.meta['policy_config']['prediction_type'] == 'sample'
    assert art.meta['policy_config']['timestep_spacing'] == 'trailing'
    obs = {k: torch.zeros(1, 2, d) for k, d in art.meta['obs_dims'].items()}
    assert art.module(obs, None).shape == (1, art.meta['horizon'], art.meta['action_dim'])


def test_student_config_checks_steps():
    from dil_ros.policy.config import PolicyConfig
    cfg = student_config(PolicyConfig(), 3)
    assert (cfg.num_inference_steps, cfg.prediction_type, cfg.timestep_spacing) == \
        (3, 'sample', 'trailing')
    with pytest.raises(DistillError, match='1-3 steps'):
        student_config(PolicyConfig(), 4)
