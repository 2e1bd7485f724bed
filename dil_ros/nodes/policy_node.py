"""policy_node: a managed lifecycle node that runs policy.ts on the contract's topics.

configure: read parameters, the contract and the artifact (refused when trained for another
contract), warm up, create topics. activate: command. deactivate: hold. The logic lives in
dil_ros.control.
"""
import gc
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
import numpy as np
from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import Bool, Float64, Float64MultiArray, String
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from dil_ros.contract import ContractError, default_contract_path, load_contract
from dil_ros.control.controller import ControlConfig, PolicyController
from dil_ros.control.guided_handover import GUIDED_FORMS, GUIDED_PREFIXES
from dil_ros.control.inference import InferenceWorker
from dil_ros.control.scheduler import HANDOVERS
from dil_ros.errors import DilRosError
from dil_ros.nodes import messages, spin_interruptible
from dil_ros.nodes.observation_topics import observation_value, ObservationTopics, zero_window
from dil_ros.nodes.policy_params import (
    EXECUTORS, INFERENCE_MODES, OUTPUT_MODES, PARAMETERS, parse_cpus)

WARMUP_RUNS = 3


class PolicyNode(LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__('policy_node', **kwargs)
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(
                description=description, read_only=True))
        self._lock = threading.Lock()
        self._ctl = self._worker = self._timer = self._monitor = None
        self._entities = []
        self._last_tick_wall = None
        self._gc_frozen = False

    def param(self, name):
        return self.get_parameter(name).value

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._configure()
        except DilRosError as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self._release()
            return TransitionCallbackReturn.FAILURE
        except Exception as exc:  # noqa: BLE001 - e.g. the policy raising during warm-up
            self.get_logger().error(f'configure failed: {type(exc).__name__}: {exc}')
            self._release()
            return TransitionCallbackReturn.FAILURE
        if self.param('gc_freeze'):   # a full collection over torch + rclpy: 65-106 ms here
            gc.collect()
            gc.freeze()
            self._gc_frozen = True
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        import torch

        from dil_ros.accel.forms import load_policy_form
        mode, handover = self.param('output_mode'), self.param('handover')
        guide_hold_s = GUIDED_PREFIXES.get(self.param('guided_prefix'))
        if guide_hold_s is None:
            raise ContractError(f'guided_prefix must be one of {sorted(GUIDED_PREFIXES)}; got '
                                f'{self.param("guided_prefix")!r}')
        if mode not in OUTPUT_MODES or handover not in HANDOVERS:
            raise ContractError(f'output_mode must be one of {OUTPUT_MODES} and handover one of '
                                f'{HANDOVERS}; got {mode!r}, {handover!r}')
        contract = load_contract(self.param('contract') or default_contract_path())
        contract.require_topics('policy_node')
        device = self.param('device')
        if device.startswith('cuda') and not torch.cuda.is_available():
            self.get_logger().warning(f'device {device!r} not available; using cpu')
            device = 'cpu'
        if self.param('inference_threads') > 0:
            torch.set_num_threads(self.param('inference_threads'))
        if not self.param('policy_path'):
            raise ContractError('parameter policy_path is empty: set it to an exported policy.ts')
        # policy.ts pinned by policy_sha256; a faster form bound to it; the contract checked on
        # the metadata of the file that runs, before it is loaded
        policy = load_policy_form(self.param('policy_path'), self.param('form'), device,
                                  contract=contract, policy_sha256=self.param('policy_sha256'))
        self.get_logger().info(f'form {policy.form} on {policy.device}: {policy.message}')
        if self.param('monitor'):   # scores each chunk before the controller sees it
            from dil_ros.control.monitor import attach_monitor
            policy, self._monitor, line = attach_monitor(
                policy, self.param('policy_path'), self.param('on_alarm'), policy.device,
                contract.dt, contract.n_obs_steps)
            self._monitor_pub = self.create_publisher(String, '~/monitor', 10)
            self.get_logger().info(line)
        self._worker = self._start_worker(policy)
        warm = zero_window(contract)
        for _ in range(WARMUP_RUNS):  # TorchScript optimises on its first runs
            t = time.perf_counter()
            self._worker.infer(warm)
            latency = time.perf_counter() - t
        if handover == 'guided':      # the guided call too (and a policy.ts too old for it)
            self._warm_guided(warm, contract)
        self.get_logger().info(f'loaded {policy.path} ({policy.meta["kind"]}; policy.ts sha256 '
                               f'{policy.policy_sha256}) for contract {contract.name}; warm-up '
                               f'inference {latency * 1e3:.1f} ms')

        topics = ObservationTopics(contract)
        config = ControlConfig(
            rate_hz=float(self.param('control_rate_hz')),
            observation_timeout_s=float(self.param('observation_timeout_s')),
            inference_lead_s=float(self.param('inference_lead_s')),
            handover=handover, crossfade_steps=int(self.param('crossfade_steps')),
            velocity_output=mode == 'twist', guide_hold_s=guide_hold_s)
        self._ctl = PolicyController(contract, config, topics.stamped, initial_latency_s=latency)
        self._ctl.set_enabled(bool(self.param('start_enabled')))
        self._mode, self._contract = mode, contract

        ctrl = self.param('controller') or contract.action.controller
        out_type, topic = {'joint_trajectory': (JointTrajectory, f'/{ctrl}/joint_trajectory'),
                           'forward_command': (Float64MultiArray, f'/{ctrl}/commands'),
                           'twist': (Twist, '/cmd_vel')}[mode]
        self._out = self.create_lifecycle_publisher(out_type, topic, 10)
        self._diag = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # One message per chunk: wall-clock inference time, for plots (PlotJuggler, dil-ros demo).
        self._latency = self.create_publisher(Float64, '~/inference_latency_ms', 10)
        io_group = MutuallyExclusiveCallbackGroup()
        # every observation, cameras included, with sensor-data QoS (best effort, keep last)
        for topic_name, cls in topics.classes.items():
            specs = topics.specs[topic_name]
            self._entities.append(self.create_subscription(
                cls, topic_name, lambda msg, specs=specs: self._on_observation(msg, specs),
                qos_profile_sensor_data, callback_group=io_group))
        self._entities += [
            self.create_subscription(Bool, '~/estop', self._on_estop, 10,
                                     callback_group=io_group),
            self.create_service(SetBool, '~/enable', self._on_enable, callback_group=io_group),
            self.create_service(Trigger, '~/reset', self._on_reset, callback_group=io_group),
            self.create_timer(1.0, self._publish_diagnostics, callback_group=io_group),
        ]
        self._control_group = MutuallyExclusiveCallbackGroup()
        self.get_logger().info(f'commanding {topic} ({mode}), handover {handover}, '
                               f'enabled={self._ctl.enabled}')

    def _start_worker(self, policy):
        """The policy on a thread of this process, or in a worker process (inference_mode)."""
        mode = self.param('inference_mode')
        if mode not in INFERENCE_MODES:
            raise ContractError(f'inference_mode must be one of {INFERENCE_MODES}; got {mode!r}')
        if mode == 'process' and self._monitor is not None:
            self.get_logger().warning('inference_mode process does not run the monitor: '
                                      'inferring on a thread')
            mode = 'thread'
        if self.param('handover') == 'guided' and (mode != 'thread' or self._monitor is not None
                                                   or policy.form not in GUIDED_FORMS):
            raise ContractError(f'handover guided needs inference_mode thread, no monitor and a '
                                f'form in {GUIDED_FORMS}; got {mode!r}, monitor '
                                f'{self._monitor is not None}, form {policy.form!r}')
        if mode == 'thread':
            return InferenceWorker(policy, str(policy.device), self._on_inference_done,
                                   float(self.param('inference_delay_s')))
        from dil_ros.control.worker_process import ProcessInferenceWorker, WorkerSpec
        try:
            cpus = parse_cpus(self.param('inference_cpus'))
        except ValueError as exc:
            raise ContractError(str(exc)) from None
        # the worker loads the very policy.ts checked here (pinned by its sha256)
        worker = ProcessInferenceWorker(WorkerSpec(
            str(self.param('policy_path')), policy.form, str(policy.device),
            policy.policy_sha256, int(self.param('inference_threads')),
            int(self.param('inference_nice')), cpus), self._on_inference_done)
        self.get_logger().info(f'inference in a worker process: {worker.message}')
        return worker

    def _warm_guided(self, warm, contract) -> None:
        zeros = np.zeros((contract.horizon, contract.action_dim)), np.zeros(contract.horizon)
        try:
            for _ in range(WARMUP_RUNS):
                self._worker.infer(warm, None, *zeros)
        except Exception as exc:  # noqa: BLE001 - TorchScript's own error for a missing input
            raise ContractError(f'{self.param("policy_path")}: handover guided: the policy does '
                                f'not take a prefix (re-export it with this dil_ros): '
                                f'{type(exc).__name__}: {str(exc).splitlines()[0]}') from None

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self._lock:
            self._ctl.set_active(True)
        self._last_tick_wall = None
        self._timer = self.create_timer(1.0 / self._ctl.config.rate_hz, self._on_tick,
                                        callback_group=self._control_group)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_commanding()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._ctl is not None and self._ctl.active:
            self._stop_commanding()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop_commanding(self) -> None:
        """Stop the loop and send one hold command (the publisher is still active here)."""
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        with self._lock:
            self._ctl.set_active(False)
            self._publish(self._ctl.tick(self.now()))

    def stop_inference(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def _release(self) -> None:
        self.stop_inference()
        for entity in self._entities:
            for destroy in (self.destroy_subscription, self.destroy_service, self.destroy_timer):
                if destroy(entity):
                    break
        if getattr(self, '_out', None) is not None:
            self.destroy_lifecycle_publisher(self._out)
            self.destroy_publisher(self._diag)
            self.destroy_publisher(self._latency)
            self._out = None
        if self._monitor is not None:
            self.destroy_publisher(self._monitor_pub)
            self._monitor = None
        self._entities, self._worker, self._ctl = [], None, None
        if self._gc_frozen:   # what configure froze may be collected again
            gc.unfreeze()
            self._gc_frozen = False

    # -- callbacks ----------------------------------------------------------------------------
    def _on_observation(self, msg, specs) -> None:
        stamp = messages.stamp_ns(msg, self.get_clock().now().nanoseconds)
        for spec in specs:
            value, error = observation_value(msg, spec)   # outside the control loop's lock
            with self._lock:
                if self._ctl is None:
                    return
                report = (self._ctl.observe(spec.key, stamp, value) if error is None
                          else self._ctl.fault(spec.key, error))
            self._log(report)

    def _on_tick(self) -> None:
        wall = time.perf_counter()
        now = self.now()
        with self._lock:
            if self._last_tick_wall is not None:
                self._ctl.record_loop_period(wall - self._last_tick_wall)
            self._last_tick_wall = wall
            tick = self._ctl.tick(now)
            self._publish(tick)
            if tick.entered_hold and self._ctl.hold_level(tick.reason):
                self.get_logger().error(f'holding: {tick.reason}')
        if tick.request is not None:
            self._worker.submit(tick.request)

    def _on_inference_done(self, request, actions, error, wall_s) -> None:
        with self._lock:
            if self._ctl is None:
                return
            dead = getattr(self._worker, 'dead_reason', None)
            if error is not None:
                report = self._ctl.on_failure(request, error, self.now())
                if dead is not None:   # no chunk will come: hold now, saying why
                    report = self._ctl.fault('inference worker', f'{dead}; holding (cleanup and '
                                             'configure start a new one)') or report
            else:
                fresh = request.generation == self._ctl.generation
                report = self._ctl.on_result(request, actions, self.now(), wall_s)
                if self._monitor is not None and fresh:
                    report = self._check_monitor(request, actions) or report
            self._latency.publish(Float64(data=wall_s * 1e3))
        self._log(report)

    def _check_monitor(self, request, actions):
        """Score the chunk; publish ~/monitor; on an alarm warn or hold (the fault path)."""
        scores, cost_s = self._worker.module.take()
        verdict = self._monitor.on_chunk(request.stamp, actions, scores, cost_s)
        self._monitor_pub.publish(String(data=verdict.to_json()))
        if not verdict.alarm:
            return None
        return self._ctl.fault('monitor', verdict.message) if verdict.hold else \
            ('warn', verdict.message)

    def _on_estop(self, msg: Bool) -> None:
        if msg.data:
            with self._lock:
                self._ctl.trigger_estop()
            self.get_logger().error('e-stop: holding until ~/reset')

    def _on_enable(self, request: SetBool.Request, response: SetBool.Response):
        with self._lock:
            starting = request.data and not self._ctl.enabled
            self._ctl.set_enabled(request.data)
            if starting and self._monitor is not None:
                self._monitor.reset()   # a new task: episode time from its first chunk
        response.success, response.message = True, f'enabled={request.data}'
        self.get_logger().info(response.message)
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response):
        with self._lock:
            self._ctl.reset()
            if self._monitor is not None:
                self._monitor.reset()
        response.success, response.message = True, 'history, errors and e-stop cleared'
        self.get_logger().info(response.message)
        return response

    def wait_commands_delivered(self, timeout_s: float) -> bool:
        """Block until reliable subscribers acknowledged every command sent (e.g. the hold)."""
        from rclpy.duration import Duration
        out = getattr(self, '_out', None)
        return out is None or out.wait_for_all_acked(Duration(seconds=timeout_s))

    def _log(self, report) -> None:
        if report is not None:
            level, text = report
            if level == 'error':
                self.get_logger().error(text)
            else:
                self.get_logger().warning(text)

    # -- outputs ------------------------------------------------------------------------------
    def _publish(self, tick) -> None:
        joints = self._contract.action.joints
        if self._mode == 'joint_trajectory':
            if tick.holding and tick.entered_hold and tick.command is not None:
                plan = np.array([self._contract.dt]), tick.command[None]
            else:
                plan = self._ctl.trajectory(self.now()) if tick.new_chunk else None
            if plan is not None:
                self._out.publish(messages.trajectory(joints, *plan))
        elif tick.command is not None:
            self._out.publish(messages.forward_command(tick.command)
                              if self._mode == 'forward_command'
                              else messages.twist(joints, tick.command))

    def _publish_diagnostics(self) -> None:
        with self._lock:
            if self._ctl is None:
                return
            level, summary, values = self._ctl.status(self.now())
            monitor = self._monitor.status() if self._monitor is not None else None
        if monitor is not None:   # before the policy's entry (readers keep the last)
            self._diag.publish(messages.diagnostics(*monitor, 'policy_node: monitor',
                                                    self._contract.name,
                                                    self.get_clock().now().to_msg()))
        self._diag.publish(messages.diagnostics(level, summary, values, 'policy_node: policy',
                                                self._contract.name,
                                                self.get_clock().now().to_msg()))


def make_executor(name: str):
    """The executor named by the ``executor`` parameter (None: an unknown name).

    Inference runs on a worker of its own, so one thread spins the node either way; the events
    executor dispatches timers and messages from C++, with less Python per callback. rclpy 9.1's
    EventsExecutor deadlocks when another thread creates entities while it spins: main() makes
    them in its own service callbacks; code that drives transitions from another thread must do
    so before it spins (bench/bench_policy_node.py).
    """
    if name == 'events':
        from rclpy.experimental import EventsExecutor
        return EventsExecutor()
    return SingleThreadedExecutor() if name == 'single_threaded' else None


def main(args=None):
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = PolicyNode()
    executor = make_executor(node.param('executor'))
    if executor is None:
        node.get_logger().error(f"executor must be one of {EXECUTORS}; got "
                                f"{node.param('executor')!r}")
        node.destroy_node()
        rclpy.try_shutdown()
        return 1
    executor.add_node(node)
    try:
        spin_interruptible(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        if node._ctl is not None and node._ctl.active:
            node.get_logger().warning('interrupted: sending hold and deactivating')
            node.trigger_deactivate()  # the hold goes out through the lifecycle
            node.wait_commands_delivered(1.0)  # before the process (and its DDS writer) ends
    finally:
        executor.shutdown()
        node.stop_inference()   # a worker process ends with the node, in every state
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
