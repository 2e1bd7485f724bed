"""policy_node with ``monitor: true`` over DDS: ~/monitor per chunk; warn, or hold naming the
score."""
import json
import shutil
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

ERROR = 40


@pytest.fixture(scope='module')
def monitored(tmp_path_factory, contract, one_torch_thread):
    """An untrained small diffusion policy.ts with its policy.monitor.ts, and a copy of both
    calibrated with a denoise threshold every chunk exceeds."""
    from dil_ros.monitor.sibling import export_monitor, monitor_path, write_thresholds
    from dil_ros.policy.config import PolicyConfig
    from dil_ros.policy.diffusion_policy import DiffusionPolicy
    from dil_ros.policy.export import diffusion_metadata, export_policy
    import torch
    torch.manual_seed(0)
    config = PolicyConfig(n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
                          n_action_steps=contract.n_action_steps, down_dims=(16, 32),
                          kernel_size=3, diffusion_step_embed_dim=16, num_inference_steps=4)
    dims = {**contract.obs_dims, 'action': contract.action_dim}
    stats = {k: {'min': [-1.0] * d, 'max': [1.0] * d} for k, d in dims.items()}
    policy = DiffusionPolicy(config, contract.obs_dims, contract.action_dim, stats).eval()
    root = tmp_path_factory.mktemp('monitored')
    plain = root / 'plain' / 'policy.ts'
    export_policy(policy, plain, diffusion_metadata(policy, contract, 'untrained'))
    export_monitor(policy, plain)
    strict = root / 'strict' / 'policy.ts'
    strict.parent.mkdir()
    shutil.copy(plain, strict)
    shutil.copy(monitor_path(plain), monitor_path(strict))
    write_thresholds(strict, {'denoise': 1e-9}, {'alpha': 0.05, 'episodes': 0})
    return {'plain': str(plain), 'strict': str(strict)}


@pytest.fixture
def harness(ros_context, monitored):
    from policy_harness import PolicyHarness
    from std_msgs.msg import String
    made = []

    def make(policy, **params):
        h = PolicyHarness(policy_path=monitored[policy], start_enabled=True, monitor=True,
                          observation_timeout_s=0.3, **params)
        h.monitor = []
        h.robot.create_subscription(String, '/policy_node/monitor',
                                    lambda m: h._add(h.monitor, json.loads(m.data)), 10)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()


def test_uncalibrated_monitor_publishes_scores_and_keeps_commanding(harness):
    h = harness('plain', on_alarm='hold')
    h.start()
    assert h.wait_for(lambda: len(h.monitor) >= 3, 10.0), h.logs
    first, later = h.monitor[0], h.monitor[-1]
    assert set(first['scores']) == {'denoise', 'novelty', 'consistency'}
    assert first['scores']['denoise'] > 0 and first['scores']['consistency'] is None
    assert later['scores']['consistency'] is not None and not later['alarm']
    assert first['thresholds'] == {} and h.log_has('not calibrated')
    t0 = time.monotonic()
    assert h.wait_for(lambda: len(h.commands_since(t0)) > 10), h.logs   # still commanding


def test_hold_on_alarm_names_the_score_and_latches_until_reset(harness):
    h = harness('strict', on_alarm='hold')
    h.start()
    assert h.wait_for(lambda: h.log_has('monitor alarm: denoise', ERROR), 10.0), h.logs
    assert h.monitor and h.monitor[0]['alarm'] and h.monitor[0]['tripped'] == ['denoise']
    time.sleep(0.4)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 3 and np.ptp(held, axis=0).max() == 0.0   # one safe command, repeated
    assert len(h.monitor) == 1   # no chunk after the alarm
    assert h.wait_for(lambda: 'monitor alarm: denoise' in h.last_diagnostic()[1], 3.0)
    assert h.last_diagnostic()[0] == b'\x02'
    names = {d.name for d in h.diagnostics}
    assert {'policy_node: monitor', 'policy_node: policy'} <= names
    assert h.reset().success    # ~/reset clears the latch: the next chunk trips it again
    assert h.wait_for(lambda: len(h.monitor) >= 2, 10.0), h.logs


def test_enabling_starts_a_new_episode_for_the_monitor(harness):
    """~/enable false, then true: a new task; its first chunk is at episode time 0 and has no
    previous chunk to be consistent with."""
    h = harness('plain')
    h.start()
    assert h.wait_for(lambda: len(h.monitor) >= 3, 10.0), h.logs
    assert h.monitor[-1]['episode_time'] > 0 and h.monitor[-1]['scores']['consistency'] is not None
    assert h.enable(False).success
    time.sleep(0.3)
    seen = len(h.monitor)
    assert h.enable(True).success
    assert h.wait_for(lambda: len(h.monitor) > seen + 1, 10.0), h.logs
    first = next(m for m in h.monitor[seen:] if m['episode_time'] == 0.0)
    assert first['scores']['consistency'] is None


def test_warn_on_alarm_keeps_commanding(harness):
    h = harness('strict', on_alarm='warn')
    h.start()
    assert h.wait_for(lambda: len(h.monitor) >= 2, 10.0), h.logs
    assert all(m['alarm'] and not m['hold'] for m in h.monitor)
    assert h.log_has('monitor alarm: denoise') and not h.log_has('holding: monitor')
    t0 = time.monotonic()
    assert h.wait_for(lambda: len(h.commands_since(t0)) > 10), h.logs


def test_configure_fails_naming_the_missing_monitor(harness, monitored, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn as R
    bare = tmp_path / 'policy.ts'
    shutil.copy(monitored['plain'], bare)
    from policy_harness import PolicyHarness
    h = PolicyHarness(policy_path=str(bare), monitor=True)
    try:
        assert h.node.trigger_configure() == R.FAILURE
        assert h.log_has(f'{tmp_path}/policy.monitor.ts: no monitor for', ERROR), h.logs
    finally:
        h.close()
