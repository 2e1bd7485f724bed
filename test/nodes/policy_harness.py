"""Fake robot around one PolicyNode: publishes joint states; records commands, logs, status."""
import itertools
import threading
import time

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Twist
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64, Float64MultiArray
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from dil_ros.nodes.policy_node import PolicyNode

_ids = itertools.count()


class _Recorder:
    """The node's logger, also keeping (level, text) for the test (DEBUG 10 ... ERROR 40)."""

    def __init__(self, logger, harness):
        self._logger, self._harness = logger, harness

    def __getattr__(self, name):
        levels = {'debug': 10, 'info': 20, 'warning': 30, 'warn': 30, 'error': 40, 'fatal': 50}
        method = getattr(self._logger, name)
        if name not in levels:
            return method

        def log(text, **kwargs):
            self._harness._add(self._harness.logs, (levels[name], text))
            # rclpy wants one severity per call site: one line per severity
            if levels[name] >= 40:
                return self._logger.error(text, **kwargs)
            if levels[name] == 30:
                return self._logger.warning(text, **kwargs)
            return self._logger.info(text, **kwargs)
        return log


class PolicyHarness:
    def __init__(self, **params):
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        self.node = PolicyNode(parameter_overrides=overrides)
        self.node.get_logger = lambda: _Recorder(PolicyNode.get_logger(self.node), self)
        self._setup()

    def _setup(self):
        self.robot = rclpy.create_node(f'fake_robot_{next(_ids)}')
        self.names = ['extra', 'elbow', 'shoulder_pan', 'shoulder_lift']   # any order, extras
        self.positions = {'shoulder_pan': 0.5, 'shoulder_lift': -0.5, 'elbow': 1.0, 'extra': 9.0}
        self.publishing = True
        self.commands, self.trajectories, self.logs, self.diagnostics = [], [], [], []
        self._lock = threading.RLock()
        r = self.robot
        self.sim_time = None
        self.clock_pub = r.create_publisher(Clock, '/clock', 10)
        self.js_pub = r.create_publisher(JointState, '/joint_states', 10)
        self.goal_pub = r.create_publisher(Point, '/task/goal', 10)
        self.estop_pub = r.create_publisher(Bool, '/policy_node/estop', 10)
        r.create_subscription(Float64MultiArray, '/arm_controller/commands',
                              lambda m: self._add(self.commands, (time.monotonic(), list(m.data))),
                              10)
        self.twists = []
        r.create_subscription(Twist, '/cmd_vel', lambda m: self._add(
            self.twists, (time.monotonic(), [m.linear.x, m.angular.z])), 10)
        r.create_subscription(JointTrajectory, '/arm_controller/joint_trajectory',
                              lambda m: self._add(self.trajectories, m), 10)
        r.create_subscription(DiagnosticArray, '/diagnostics',
                              lambda m: self._add(self.diagnostics, m.status[0]), 10)
        self.latencies = []
        r.create_subscription(Float64, '/policy_node/inference_latency_ms',
                              lambda m: self._add(self.latencies, m.data), 10)
        self.enable_cli = r.create_client(SetBool, '/policy_node/enable')
        self.reset_cli = r.create_client(Trigger, '/policy_node/reset')
        r.create_timer(0.01, self.publish_state)
        self.executor = SingleThreadedExecutor()  # as main() spins the node
        if self.node is not None:
            self.executor.add_node(self.node)
        self.executor.add_node(self.robot)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _add(self, where, item):
        with self._lock:
            where.append(item)

    def publish_state(self, stamp=None, values=None):
        if self.sim_time is not None:      # a simulator's /clock, 1x from 1000 s
            self.sim_time += 0.01
            self.clock_pub.publish(Clock(clock=Time(sec=int(self.sim_time),
                                                    nanosec=int(self.sim_time % 1 * 1e9))))
        if not self.publishing and stamp is None:
            return
        if self.sim_time is not None and stamp is None:
            stamp = Time(sec=int(self.sim_time), nanosec=int(self.sim_time % 1 * 1e9))
        msg = JointState(name=list(self.names))
        if values is None:
            values = [self.positions.get(n, 0.0) for n in self.names]
        msg.position = [float(v) for v in values]
        msg.header.stamp = stamp or self.robot.get_clock().now().to_msg()
        self.js_pub.publish(msg)
        self.goal_pub.publish(Point(x=0.1, y=0.2, z=0.3))

    def call(self, client, request, timeout=5.0):
        assert client.wait_for_service(timeout_sec=timeout)
        future = client.call_async(request)
        end = time.monotonic() + timeout
        while not future.done() and time.monotonic() < end:
            time.sleep(0.01)
        return future.result()

    def enable(self, on=True):
        return self.call(self.enable_cli, SetBool.Request(data=on))

    def reset(self):
        return self.call(self.reset_cli, Trigger.Request())

    def start(self):
        from rclpy.lifecycle import TransitionCallbackReturn as R
        assert self.node.trigger_configure() == R.SUCCESS, self.logs
        assert self.node.trigger_activate() == R.SUCCESS

    def wait_for(self, predicate, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if predicate():
                    return True
            time.sleep(0.02)
        with self._lock:
            return predicate()

    def log_has(self, text, level=None):
        return any(text in m and (level is None or lvl == level) for lvl, m in self.logs)

    def commands_since(self, t0):
        with self._lock:
            return [c for t, c in self.commands if t >= t0]

    def last_diagnostic(self):
        with self._lock:
            d = self.diagnostics[-1] if self.diagnostics else None
        if d is None:
            return None, '', {}
        return d.level, d.message, {kv.key: kv.value for kv in d.values}

    def close(self):
        self.executor.shutdown(timeout_sec=10.0)
        self._thread.join(10.0)
        if self.node is not None:
            self.node.trigger_shutdown()   # releases the inference thread
            self.node.destroy_node()
        self.robot.destroy_node()


class FakeRobot(PolicyHarness):
    """The same fake robot for a policy_node running in another process."""

    def __init__(self):
        self.node = None
        self._setup()
