"""The scorer: low on training-like (observation, chunk) pairs, high off them; policy.monitor.ts
gives the eager module's scores and is bound to its policy.ts."""
import numpy as np
import pytest
import torch

from conftest import expert_chunk, toy_obs


def scores(module, state, goal, actions):
    with torch.no_grad():
        return module(toy_obs(state, goal), torch.as_tensor(actions)).numpy()


@pytest.fixture(scope='module')
def pairs(tiny_policy):
    rng = np.random.default_rng(7)
    state, goal = rng.uniform(-0.9, 0.9, size=(2, 32, 3)).astype(np.float32)
    return state, goal, expert_chunk(state, goal, tiny_policy.horizon)


def test_denoise_low_on_expert_pairs_high_off_them(tiny_policy, toy_frames, pairs):
    from dil_ros.monitor.scores import MonitorModule
    module = MonitorModule(tiny_policy, toy_frames).eval()
    state, goal, chunk = pairs
    expert = scores(module, state, goal, chunk)[:, 0]
    reversed_chunk = scores(module, state, goal, chunk[:, ::-1].copy())[:, 0]
    wrong_goal = scores(module, state, -goal, chunk)[:, 0]       # the chunk of another goal
    assert np.median(expert) * 3 < np.median(reversed_chunk)
    assert np.median(expert) * 3 < np.median(wrong_goal)
    assert (expert < np.median(reversed_chunk)).mean() > 0.9


def test_the_policy_own_chunks_score_like_expert_ones(tiny_policy, pairs):
    from dil_ros.monitor.scores import MonitorModule
    module = MonitorModule(tiny_policy).eval()
    state, goal, chunk = pairs
    with torch.no_grad():
        sampled = tiny_policy(toy_obs(state, goal), None).numpy()
    own = scores(module, state, goal, sampled)[:, 0]
    off = scores(module, state, goal, chunk + 0.4)[:, 0]
    assert np.median(own) * 3 < np.median(off)


def test_novelty_zero_inside_training_states_large_outside(tiny_policy, toy_frames, pairs):
    from dil_ros.monitor.scores import MonitorModule
    module = MonitorModule(tiny_policy, toy_frames).eval()
    state, goal, chunk = pairs
    inside = scores(module, state, goal, chunk)[:, 1]
    outside = scores(module, state, goal + 3.0, chunk)[:, 1]   # goals > 1 beyond the range
    assert inside.max() < 0.3 and outside.min() > 0.7
    assert (scores(MonitorModule(tiny_policy).eval(), state, goal, chunk)[:, 1] == 0).all()


def test_monitor_ts_matches_eager_and_leaves_policy_ts_alone(tiny_policy, toy_frames, pairs,
                                                             export_tiny):
    from dil_ros.monitor.scores import MonitorModule
    from dil_ros.monitor.sibling import load_monitor
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.digest import file_sha256
    path = export_tiny('parity')
    before = file_sha256(path)
    scripted, meta = load_monitor(path)
    eager = MonitorModule(tiny_policy, toy_frames).eval()
    state, goal, chunk = pairs
    np.testing.assert_allclose(scores(scripted, state, goal, chunk),
                               scores(eager, state, goal, chunk), rtol=1e-4, atol=1e-5)
    assert meta['made_from']['sha256'] == before == file_sha256(path)
    obs, noise = toy_obs(state[:2], goal[:2]), torch.randn(2, 16, 3)
    with torch.no_grad():   # forward of policy.ts is the policy's own
        np.testing.assert_allclose(load_artifact(path).module(obs, noise).numpy(),
                                   tiny_policy(obs, noise).numpy(), atol=1e-5)


def test_monitor_refused_for_another_policy_ts(export_tiny, tmp_path):
    import shutil

    from dil_ros.monitor.sibling import load_monitor, monitor_path, MonitorError
    path = export_tiny('bound')
    other = tmp_path / 'policy.ts'
    shutil.copy(path, other)
    other.write_bytes(other.read_bytes() + b'\0')          # another policy.ts
    shutil.copy(monitor_path(path), monitor_path(other))
    with pytest.raises(MonitorError, match=r'policy\.monitor\.ts: made from a policy\.ts'):
        load_monitor(other)
    with pytest.raises(MonitorError, match='no monitor for'):
        load_monitor(tmp_path / 'none.ts')


def test_export_refuses_weights_that_are_not_policy_ts(tiny_policy, export_tiny, contract):
    import copy

    from dil_ros.monitor.sibling import export_monitor, MonitorError
    path = export_tiny('mismatch')
    other = copy.deepcopy(tiny_policy)
    with torch.no_grad():
        for p in other.model.parameters():
            p.add_(0.05)
    with pytest.raises(MonitorError, match='give other actions than this policy.ts'):
        export_monitor(other, path)


def test_camera_novelty_sees_a_black_frame_that_the_state_does_not(tmp_path):
    """A camera policy's third column: its own camera features against the training frames'."""
    import torch
    from dil_ros.accel.synthetic import TINY, camera_contract, synthetic_policy
    from dil_ros.monitor.scores import camera_features, MonitorModule
    from dil_ros.policy.vision_encoder import VisionConfig
    torch.set_num_threads(1)
    contract = camera_contract(1, size=48, crop=40)
    policy = synthetic_policy(TINY, num_inference_steps=2, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=4,
                                                  feature_dim=8)).eval()
    rng = np.random.default_rng(0)
    key = 'observation.images.cam0'
    episodes = [{**{k: rng.uniform(-1, 1, (6, d)).astype(np.float32)
                    for k, d in policy.obs_dims.items()},
                 key: rng.integers(100, 200, (6, 48, 48, 3), dtype=np.uint8)} for _ in range(4)]
    feats = camera_features(policy, episodes, batch=7)
    assert feats.shape == (24, 8)
    module = torch.jit.script(MonitorModule(policy, train_camera=feats).eval())
    assert MonitorModule(policy, train_camera=feats).score_names()[-1] == 'camera_novelty'
    ep = episodes[0]
    obs = {k: torch.as_tensor(ep[k][None, 1:3]).float() for k in policy.obs_dims}
    obs[key] = torch.as_tensor(ep[key][None, 1:3])
    with torch.no_grad():
        actions = policy(obs, None)
        seen = module(obs, actions)[0, 2].item()
        obs[key] = torch.zeros_like(obs[key])
        black = module(obs, actions)[0, 2].item()
    assert seen < 1e-4 < black, (seen, black)
    assert MonitorModule(policy)(obs, actions).shape == (1, 2)   # no features: two columns
