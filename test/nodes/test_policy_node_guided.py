"""policy_node with handover guided and the inference_delay_s test parameter, over DDS."""
from typing import Dict, Optional
import time

import numpy as np
import pytest
import torch
from torch import nn

pytestmark = pytest.mark.ros

ERROR = 40
TARGET = [0.51, -0.48, 1.03]   # fake robot [0.5, -0.5, 1.0] + delta, contract order


class GuidedOffsetPolicy(nn.Module):
    """newest observation.state + delta; with a prefix, the prefix where its weight is 1
    (what the guided sampler does to the frozen actions)."""

    def __init__(self, horizon: int, delta):
        super().__init__()
        self.horizon = horizon
        self.register_buffer('delta', torch.tensor(delta, dtype=torch.float32))

    def forward(self, obs: Dict[str, torch.Tensor], noise: Optional[torch.Tensor] = None,
                prefix: Optional[torch.Tensor] = None,
                prefix_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        state = obs['observation.state'][:, -1, :]
        out = (state + self.delta.view(1, -1)).unsqueeze(1).repeat(1, self.horizon, 1)
        if prefix is not None and prefix_weight is not None:
            frozen = (prefix_weight >= 1.0).unsqueeze(-1)
            out = torch.where(frozen, prefix, out)
        return out


@pytest.fixture(scope='module')
def artifacts(tmp_path_factory, contract):
    from policy_artifacts import metadata, offset_artifact

    from dil_ros.policy.export import export_policy
    d = tmp_path_factory.mktemp('guided')
    return {'guided': str(export_policy(GuidedOffsetPolicy(contract.horizon, [0.01, 0.02, 0.03]),
                                        d / 'guided.ts', metadata(contract))),
            'plain': str(offset_artifact(d / 'plain.ts', contract))}


@pytest.fixture
def harness(ros_context, artifacts):
    from policy_harness import PolicyHarness
    made = []

    def make(policy, **params):
        made.append(PolicyHarness(policy_path=artifacts[policy], start_enabled=True,
                                  observation_timeout_s=0.3, handover='guided', **params))
        return made[-1]
    yield make
    for h in made:
        h.close()


def test_guided_with_delay_commands_and_reports_the_delayed_latency(harness):
    h = harness('guided', inference_delay_s=0.15)
    h.start()
    since = time.monotonic()
    assert h.wait_for(lambda: len(h.commands_since(since)) >= 60 and len(h.latencies) >= 2,
                      10.0), h.logs
    np.testing.assert_allclose(h.commands_since(since)[-1], TARGET, atol=1e-6)
    assert all(ms >= 150 for ms in h.latencies), h.latencies   # the sleep is inside the timing
    assert not [m for lvl, m in h.logs if lvl == ERROR]


def test_guided_prefix_decay_commands_and_a_bad_value_is_named(harness):
    from rclpy.lifecycle import TransitionCallbackReturn
    h = harness('guided', guided_prefix='decay')
    h.start()
    since = time.monotonic()
    assert h.wait_for(lambda: len(h.commands_since(since)) >= 30, 10.0), h.logs
    np.testing.assert_allclose(h.commands_since(since)[-1], TARGET, atol=1e-6)
    bad = harness('guided', guided_prefix='freeze')
    assert bad.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert bad.wait_for(lambda: bad.log_has("guided_prefix must be one of ['decay', 'hold']; got "
                                            "'freeze'", ERROR)), bad.logs


def test_guided_refuses_a_policy_without_a_prefix_input(harness):
    from rclpy.lifecycle import TransitionCallbackReturn
    h = harness('plain')
    assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert h.wait_for(lambda: h.log_has('does not take a prefix', ERROR)), h.logs
