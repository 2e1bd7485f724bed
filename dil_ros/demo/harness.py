"""Nodes composed in one process on a MultiThreadedExecutor, plus a small client to drive them.

This is composition, not a launch system: the nodes are the same classes `ros2 launch` starts
(launch/sim_demo.launch.py, launch/policy.launch.py); here they share one process so the demo can run
where `launch` is not installed.
"""
import json
import threading
from typing import Any, Dict, List, Optional

import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import String

from dil_ros.errors import DilRosError

LATCHED = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class DemoError(DilRosError):
    """A demo phase could not complete (a service did not answer, an episode never ended)."""


def overrides(**values: Any) -> List[Parameter]:
    """Parameter overrides for a node constructor: ``Node(..., parameter_overrides=overrides(a=1))``."""
    return [Parameter(k, value=v) for k, v in values.items()]


class Harness:
    """Spins the given nodes plus a client node in a background thread."""

    def __init__(self, threads: int = 4):
        self.client = rclpy.create_node('dil_ros_demo')
        self.executor = MultiThreadedExecutor(num_threads=threads)
        self.executor.add_node(self.client)
        self.nodes: List[Node] = []
        self.results: Dict[int, Dict[str, Any]] = {}
        self._results_changed = threading.Condition()
        self.client.create_subscription(String, '/task/episode_result', self._on_result, LATCHED)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, *nodes: Node) -> None:
        for node in nodes:
            self.nodes.append(node)
            self.executor.add_node(node)

    def remove(self, *nodes: Node) -> None:
        for node in nodes:
            self.executor.remove_node(node)
            self.nodes.remove(node)
            node.destroy_node()

    def close(self) -> None:
        for node in list(self.nodes):
            self.remove(node)
        self.executor.shutdown(timeout_sec=2.0)
        self.client.destroy_node()

    def call(self, srv_type, name: str, request=None, timeout: float = 10.0):
        """Call a service and wait for its answer; a DemoError if it does not come."""
        cli = self.client.create_client(srv_type, name)
        try:
            if not cli.wait_for_service(timeout_sec=timeout):
                raise DemoError(f'service {name} not available after {timeout:.0f} s')
            future = cli.call_async(request if request is not None else srv_type.Request())
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            if not done.wait(timeout):
                raise DemoError(f'service {name} did not answer within {timeout:.0f} s')
            return future.result()
        finally:
            self.client.destroy_client(cli)

    def _on_result(self, msg: String) -> None:
        result = json.loads(msg.data)
        with self._results_changed:
            self.results[int(result['episode'])] = result
            self._results_changed.notify_all()

    def wait_result(self, episode: int, timeout: float) -> Dict[str, Any]:
        """Block until the sim publishes the result of ``episode``."""
        with self._results_changed:
            if not self._results_changed.wait_for(lambda: episode in self.results, timeout):
                raise DemoError(f'episode {episode}: no /task/episode_result within '
                                f'{timeout:.0f} s (wall)')
            return self.results[episode]


def reset_sim(harness: Harness, seed: Optional[int] = None, sim=None) -> Dict[str, Any]:
    """Start a sim episode over ~/reset (optionally with a seed) and return its info."""
    from std_srvs.srv import Trigger
    if seed is not None:
        sim.set_parameters([Parameter('seed', value=int(seed))])
    reply = harness.call(Trigger, '/sim_node/reset')
    if not reply.success:
        raise DemoError(f'/sim_node/reset failed: {reply.message}')
    return json.loads(reply.message)
