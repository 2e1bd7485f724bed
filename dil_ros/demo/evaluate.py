"""Phase 3: policy_node runs an exported policy closed loop against the MuJoCo sim over DDS."""
from dataclasses import dataclass, field
import threading
from typing import Dict, List

import numpy as np
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool, Trigger
from tqdm import tqdm

from dil_ros.demo.harness import DemoError, Harness, overrides, reset_sim

EPISODE_TIMEOUT_S = 120.0


def configure_and_activate(node) -> None:
    """Drive a lifecycle node to active, as launch/policy.launch.py's autostart does."""
    from rclpy.lifecycle import TransitionCallbackReturn
    for name, transition in (('configure', node.trigger_configure),
                             ('activate', node.trigger_activate)):
        if transition() != TransitionCallbackReturn.SUCCESS:
            raise DemoError(f'{node.get_name()}: {name} failed (see its log above)')


@dataclass
class EvalResult:
    name: str
    episodes: int = 0
    successes: int = 0
    statuses: Dict[str, int] = field(default_factory=dict)
    paths: List[np.ndarray] = field(default_factory=list)   # joint paths [T, 3] per episode
    latencies_ms: List[float] = field(default_factory=list)  # wall time per inference
    loop_periods_ms: List[float] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.successes / max(1, self.episodes)


class JointPaths:
    """Collects /joint_states (sim stamp, positions) so episodes can be cut out afterwards."""

    def __init__(self, node, joints):
        self.joints = list(joints)
        self.samples: List[tuple] = []
        self._lock = threading.Lock()
        node.create_subscription(JointState, '/joint_states', self._on_msg, 100)

    def _on_msg(self, msg: JointState) -> None:
        idx = [msg.name.index(j) for j in self.joints]
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        with self._lock:
            self.samples.append((t, [msg.position[i] for i in idx]))

    def between(self, t0: float, t1: float) -> np.ndarray:
        with self._lock:
            rows = [q for t, q in self.samples if t0 <= t <= t1]
            self.samples = [s for s in self.samples if s[0] > t1]
        return np.asarray(rows, dtype=float).reshape(-1, len(self.joints))


def evaluate_policy(name: str, policy_path: str, contract_path: str, episodes: int, seed: int,
                    real_time_factor: float, output_mode: str = 'forward_command',
                    video_path: str = '') -> EvalResult:
    """Run ``episodes`` closed-loop episodes (seeds seed, seed+1, ...) and count successes."""
    from dil_ros.nodes.policy_node import PolicyNode
    from dil_ros.nodes.sim_node import SimNode

    harness = Harness()
    sim = SimNode(real_time_factor=real_time_factor, seed=seed, auto_reset=False,
                  record_video=video_path)
    policy = PolicyNode(parameter_overrides=overrides(
        policy_path=str(policy_path), contract=str(contract_path), use_sim_time=True,
        output_mode=output_mode, start_enabled=False))
    harness.add(sim, policy)
    paths = JointPaths(harness.client, sim.sim.joint_names)
    out = EvalResult(name)
    active = False
    try:
        configure_and_activate(policy)
        active = True
        bar = tqdm(range(episodes), desc=f'evaluate {name}', unit='ep')
        for _ in bar:
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
            info = reset_sim(harness)
            harness.call(Trigger, '/policy_node/reset')
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=True))
            result = harness.wait_result(info['episode'], EPISODE_TIMEOUT_S)
            out.episodes += 1
            out.successes += bool(result['success'])
            out.statuses[result['status']] = out.statuses.get(result['status'], 0) + 1
            out.paths.append(paths.between(info['stamp'], result['stamp']))
            bar.set_postfix(success=f'{out.successes}/{out.episodes}')
            stats = policy.loop_statistics(clear=True)
            out.latencies_ms += stats['inference_ms']
            out.loop_periods_ms += stats['loop_period_ms']
    finally:
        if active:
            policy.trigger_deactivate()  # sends a hold command through the lifecycle
        harness.close()
    if out.episodes == 0:
        raise DemoError(f'{name}: no episode ran')
    return out
