"""A tiny diffusion policy trained for a few seconds on a deterministic toy task with the
mujoco_arm contract's shapes, shared by the monitor tests: the expert chunk moves from the newest
joint state half way towards the 'goal' (observation.environment_state), states and goals in
[-1, 1]^3."""
import numpy as np
import pytest

STATE, GOAL = 'observation.state', 'observation.environment_state'


def expert_chunk(state, goal, horizon):
    """[B, 3] newest states and goals -> [B, Tp, 3] expert actions."""
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[None, :, None]
    return (state[:, None, :] + 0.5 * t * (goal - state)[:, None, :]).astype(np.float32)


def toy_obs(state, goal, n_obs_steps=2):
    import torch
    return {STATE: torch.from_numpy(np.repeat(state[:, None], n_obs_steps, 1)).float(),
            GOAL: torch.from_numpy(np.repeat(goal[:, None], n_obs_steps, 1)).float()}


@pytest.fixture(scope='session')
def tiny_policy(one_torch_thread, contract):
    import torch

    from dil_ros.policy.config import PolicyConfig
    from dil_ros.policy.diffusion_policy import DiffusionPolicy
    from dil_ros.training.objectives import DiffusionObjective
    torch.manual_seed(0)
    config = PolicyConfig(n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
                          n_action_steps=contract.n_action_steps, down_dims=(32, 64),
                          kernel_size=3, diffusion_step_embed_dim=32, num_inference_steps=10)
    box = {'min': [-1.0] * 3, 'max': [1.0] * 3}
    stats = {STATE: box, GOAL: box, 'action': {'min': [-1.5] * 3, 'max': [1.5] * 3}}
    policy = DiffusionPolicy(config, contract.obs_dims, contract.action_dim, stats)
    objective = DiffusionObjective(policy, config)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        state, goal = rng.uniform(-1, 1, size=(2, 64, 3)).astype(np.float32)
        action = torch.from_numpy(expert_chunk(state, goal, config.horizon))
        noise, t = objective.draw(action, gen)
        loss = objective(toy_obs(state, goal), action, noise, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return policy.eval()


@pytest.fixture(scope='session')
def toy_frames(tiny_policy):
    from dil_ros.monitor.scores import normalised_frames
    state, goal = np.random.default_rng(1).uniform(-1, 1, size=(2, 2000, 3)).astype(np.float32)
    return normalised_frames(tiny_policy, [{STATE: state, GOAL: goal}])


@pytest.fixture(scope='session')
def export_tiny(tiny_policy, toy_frames, contract, tmp_path_factory):
    """export_tiny(name) -> path of a copy of one policy.ts of ``tiny_policy`` with its
    policy.monitor.ts (scripted once per session: scripting is the slow part)."""
    import shutil

    from dil_ros.monitor.sibling import export_monitor, monitor_path
    from dil_ros.policy.export import diffusion_metadata, export_policy
    root = tmp_path_factory.mktemp('tiny')
    first = root / 'first' / 'policy.ts'
    export_policy(tiny_policy, first, diffusion_metadata(tiny_policy, contract, 'toy'))
    export_monitor(tiny_policy, first, toy_frames)

    def export(name='policy'):
        path = root / name / 'policy.ts'
        path.parent.mkdir(exist_ok=True)
        shutil.copy(first, path)
        shutil.copy(monitor_path(first), monitor_path(path))
        return path
    return export
