"""Phase 3: policy_node runs an exported policy closed loop against the MuJoCo sim over DDS."""
from dataclasses import dataclass, field
from pathlib import Path
import threading
import time
from typing import Any, Dict, List, Mapping, Optional

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from std_srvs.srv import SetBool, Trigger
from tqdm import tqdm

from dil_ros.demo.harness import DemoError, Harness, reset_sim

EPISODE_TIMEOUT_S = 120.0
SETTLE_S = 0.2


@dataclass
class EvalResult:
    name: str
    episodes: int = 0
    successes: int = 0
    statuses: Dict[str, int] = field(default_factory=dict)
    paths: List[np.ndarray] = field(default_factory=list)    # joint paths [T, 3] per episode
    latencies_ms: List[float] = field(default_factory=list)  # wall time per inference
    diagnostics: Dict[str, str] = field(default_factory=dict)  # policy_node's last /diagnostics
    goals: List[List[float]] = field(default_factory=list)   # each episode's goal (sim, m)

    @property
    def success_rate(self) -> float:
        return self.successes / max(1, self.episodes)


class Listener:
    """/joint_states (sim stamp, positions), policy latency and diagnostics, for the report."""

    def __init__(self, node, joints):
        self.joints = list(joints)
        self.samples: List[tuple] = []
        self.latencies: List[float] = []
        self.diagnostics: Dict[str, str] = {}
        self._lock = threading.Lock()
        node.create_subscription(JointState, '/joint_states', self._on_joints, 100)
        node.create_subscription(Float64, '/policy_node/inference_latency_ms',
                                 lambda m: self.latencies.append(m.data), 100)
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def _on_joints(self, msg: JointState) -> None:
        idx = [msg.name.index(j) for j in self.joints]
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        with self._lock:
            self.samples.append((t, [msg.position[i] for i in idx]))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith('policy_node'):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def path_between(self, t0: float, t1: float) -> np.ndarray:
        with self._lock:
            rows = [q for t, q in self.samples if t0 < t <= t1]
            self.samples = [s for s in self.samples if s[0] > t1]
        return np.asarray(rows, dtype=float).reshape(-1, len(self.joints))


def change_state(harness: Harness, transition: int, label: str) -> None:
    reply = harness.call(ChangeState, '/policy_node/change_state',
                         ChangeState.Request(transition=Transition(id=transition)), timeout=120.0)
    if not reply.success:
        raise DemoError(f'policy_node: {label} failed (log: {harness.log_dir}/policy_node.log)')


def evaluate_policy(name: str, policy_path: Path, contract_path: str, episodes: int, seed: int,
                    real_time_factor: float, log_dir: Path, output_mode: str = 'joint_trajectory',
                    video_path: str = '',
                    sim_params: Optional[Mapping[str, Any]] = None,
                    policy_params: Optional[Mapping[str, Any]] = None) -> EvalResult:
    """Run ``episodes`` closed-loop episodes from sim seed ``seed`` on; count successes.

    ``sim_params``: more sim_node parameters (the vision variant's cameras); ``policy_params``:
    more policy_node parameters (the hand-over benchmark's handover and inference_delay_s).
    """
    from dil_ros.contract import load_contract
    joints = load_contract(contract_path).action.joints
    harness = Harness(Path(log_dir) / name)
    listener = Listener(harness.client, joints)
    out = EvalResult(name)
    try:
        harness.start('sim_node', real_time_factor=real_time_factor, seed=seed, auto_reset=False,
                      record_video=video_path, **(sim_params or {}))
        harness.start('policy_node', policy_path=str(policy_path), contract=str(contract_path),
                      use_sim_time=True, output_mode=output_mode, start_enabled=False,
                      **(policy_params or {}))
        change_state(harness, Transition.TRANSITION_CONFIGURE, 'configure')
        change_state(harness, Transition.TRANSITION_ACTIVATE, 'activate')
        bar = tqdm(range(episodes), desc=f'evaluate {name}', unit='ep')
        for _ in bar:
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
            time.sleep(SETTLE_S)  # the hold command of the last episode lands before the reset
            info = reset_sim(harness)
            time.sleep(SETTLE_S)  # joint states from before the reset are in, then forgotten
            harness.call(Trigger, '/policy_node/reset')
            harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=True))
            result = harness.wait_result(info['episode'], EPISODE_TIMEOUT_S)
            out.episodes += 1
            out.goals.append(list(info['goal']))
            out.successes += bool(result['success'])
            out.statuses[result['status']] = out.statuses.get(result['status'], 0) + 1
            out.paths.append(listener.path_between(info['stamp'], result['stamp']))
            bar.set_postfix(success=f'{out.successes}/{out.episodes}')
        harness.call(SetBool, '/policy_node/enable', SetBool.Request(data=False))
        time.sleep(1.2)  # one more /diagnostics period
        out.latencies_ms = list(listener.latencies)
        out.diagnostics = dict(listener.diagnostics)
    finally:
        harness.close()
    return out
