"""Nodes started as processes (as `ros2 launch` would), and a client node that drives them.

Each node runs as its own process (`python -m dil_ros.nodes.<node> --ros-args -p ...`), so the
sim, the expert, the recorder and the policy do not share one interpreter lock; this process only
calls services and listens. It is not a launch system: launch/sim_demo.launch.py and
launch/policy.launch.py start the same nodes with `ros2 launch` where launch is installed.
"""
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from dil_ros.errors import DilRosError
from dil_ros.nodes.task_topics import LATCHED_QOS, RESULT_TOPIC

START_TIMEOUT_S = 60.0


class DemoError(DilRosError):
    """A demo phase could not complete (a node died, a service did not answer, ...)."""


def ros_value(value: Any) -> str:
    """A Python value as a `--ros-args -p name:=value` literal."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return json.dumps(value) if value == '' or ' ' in value else value
    return repr(value)


class NodeProcess:
    """One node as a child process, its output in ``log_path``."""

    def __init__(self, module: str, params: Dict[str, Any], log_path: Path):
        self.module, self.log_path = module, Path(log_path)
        cmd = [sys.executable, '-m', f'dil_ros.nodes.{module}', '--ros-args']
        for name, value in params.items():
            cmd += ['-p', f'{name}:={ros_value(value)}']
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=os.environ.copy())

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text().strip().splitlines()[-5:]
            raise DemoError(f'{self.module} exited with code {self.proc.returncode} '
                            f'(log: {self.log_path}):\n  ' + '\n  '.join(tail))

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Harness:
    """Starts node processes; a client node in this process calls their services and listens."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.client = rclpy.create_node('dil_ros_demo')
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.client)
        self.processes: List[NodeProcess] = []
        self.results: Dict[int, Dict[str, Any]] = {}
        self._changed = threading.Condition()
        self.client.create_subscription(String, RESULT_TOPIC, self._on_result, LATCHED_QOS)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def start(self, module: str, **params: Any) -> NodeProcess:
        process = NodeProcess(module, params, self.log_dir / f'{module}.log')
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        self.executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=5.0)
        self.client.destroy_node()

    def check(self) -> None:
        for process in self.processes:
            process.check()

    def call(self, srv_type, name: str, request=None, timeout: float = 10.0):
        """Call a service and wait for its answer (a DemoError if it never comes)."""
        cli = self.client.create_client(srv_type, name)
        try:
            waited = 0.0
            while not cli.wait_for_service(timeout_sec=0.5):
                self.check()
                waited += 0.5
                if waited > max(timeout, START_TIMEOUT_S):
                    raise DemoError(f'service {name} not available after {waited:.0f} s')
            future = cli.call_async(request if request is not None else srv_type.Request())
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            if not done.wait(timeout):
                self.check()
                raise DemoError(f'service {name} did not answer within {timeout:.0f} s')
            return future.result()
        finally:
            self.client.destroy_client(cli)

    def wait_for_graph(self, services=(), publishers=(), timeout: float = START_TIMEOUT_S) -> None:
        """Block until the given services and topic publishers exist (nodes finished starting)."""
        waited = 0.0
        while True:
            names = {name for name, _ in self.client.get_service_names_and_types()}
            missing = [s for s in services if s not in names]
            missing += [t for t in publishers if not self.client.count_publishers(t)]
            if not missing:
                return
            self.check()
            if waited > timeout:
                raise DemoError(f'nodes not up after {timeout:.0f} s: missing {missing}')
            time.sleep(0.2)
            waited += 0.2

    def _on_result(self, msg: String) -> None:
        result = json.loads(msg.data)
        with self._changed:
            self.results[int(result['episode'])] = result
            self._changed.notify_all()

    def wait_result(self, episode: int, timeout: float) -> Dict[str, Any]:
        """Block until the sim publishes the result of ``episode``."""
        waited = 0.0
        with self._changed:
            while episode not in self.results:
                self._changed.wait(0.5)
                waited += 0.5
                self.check()
                if waited > timeout:
                    raise DemoError(f'episode {episode}: no /task/episode_result within '
                                    f'{timeout:.0f} s (wall)')
            return self.results[episode]


def reset_sim(harness: Harness) -> Dict[str, Any]:
    """Start the next sim episode over /sim_node/reset (its seed parameter counts up per reset)."""
    from std_srvs.srv import Trigger
    reply = harness.call(Trigger, '/sim_node/reset')
    if not reply.success:
        raise DemoError(f'/sim_node/reset failed: {reply.message}')
    return json.loads(reply.message)
