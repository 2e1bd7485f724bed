"""policy_node against a fake robot, over DDS on localhost (plain rclpy, no launch)."""
import gc
import math
from pathlib import Path
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

ERROR, WARN = 40, 30
TARGET = [0.51, -0.48, 1.03]   # fake robot [0.5, -0.5, 1.0] + OffsetPolicy delta, contract order
MEASURED = [0.5, -0.5, 1.0]
BEYOND = (0.0, -2.0, 2.0)      # delta past the limits (lift -1.6, elbow 2.6, 2 rad/s)


@pytest.fixture(scope='module')
def artifacts(tmp_path_factory, contract):
    from dataclasses import replace

    from policy_artifacts import offset_artifact
    d = tmp_path_factory.mktemp('policies')
    bad = d / 'garbage.ts'
    bad.write_bytes(b'not a policy')
    return {
        'good': str(offset_artifact(d / 'good.ts', contract)),
        'nan': str(offset_artifact(d / 'nan.ts', contract, nan=True)),
        'other': str(offset_artifact(d / 'other.ts', replace(contract, rate_hz=20.0))),
        # past the limits: lift -2.5..-1.75 and elbow 3.0..3.75 (clamped to -1.6 and 2.6) while
        # pan ramps 0.5..1.25 within each chunk, so commands from the policy keep changing
        'beyond': str(offset_artifact(d / 'beyond.ts', contract, delta=BEYOND, slope=0.05)),
        # TARGET ramping 0.02 per step along each chunk: its commands are never constant, a hold is
        'ramp': str(offset_artifact(d / 'ramp.ts', contract, slope=0.02)),
        'garbage': str(bad),
    }


@pytest.fixture
def harness(ros_context, artifacts):
    from policy_harness import PolicyHarness
    made = []

    def make(policy='good', **params):
        params = {'policy_path': artifacts[policy], 'start_enabled': True,
                  'observation_timeout_s': 0.3, **params}
        made.append(PolicyHarness(**params))
        return made[-1]
    yield make
    for h in made:
        h.close()


def settled(h, since, n=20):
    """The last ``n`` commands since ``since`` (after hand-over fades)."""
    assert h.wait_for(lambda: len([t for t, _ in h.commands if t >= since]) >= n + 30), h.logs
    return np.array(h.commands_since(since)[-n:])


def moving(h, since, n=20):
    """The last ``n`` commands since ``since``, asserted to change as the 'ramp' policy's do."""
    cmds = settled(h, since, n)
    assert np.ptp(cmds, axis=0).min() > 1e-3, cmds
    return cmds


def test_forward_commands_in_contract_order_at_rate(harness):
    h = harness()
    h.start()
    t0 = time.monotonic()
    cmds = settled(h, t0)
    np.testing.assert_allclose(cmds[-1], TARGET, atol=1e-6)   # reordered + extra joint work
    time.sleep(1.0)
    n = len(h.commands_since(time.monotonic() - 1.0))
    # one command per 10 ms tick; a loaded 2-core CI box runs slower, never faster
    assert h.node._timer.timer_period_ns == 10_000_000
    assert 30 <= n <= 110, f'{n} commands in 1 s at control_rate_hz 100'
    assert h.wait_for(lambda: h.diagnostics, 2.5)
    level, message, values = h.last_diagnostic()
    assert level == b'\x00' and message == 'commanding'
    assert float(values['inference latency p50 [ms]']) > 0
    assert h.latencies and all(0 < ms < 5000 for ms in h.latencies)   # one per chunk


def test_joint_trajectory_output(harness):
    h = harness(output_mode='joint_trajectory')
    h.start()
    assert h.wait_for(lambda: len(h.trajectories) >= 2, 5.0)
    traj = h.trajectories[-1]
    assert list(traj.joint_names) == ['shoulder_pan', 'shoulder_lift', 'elbow']
    t = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in traj.points]
    assert t[0] > 0 and all(b > a for a, b in zip(t, t[1:]))
    assert traj.header.stamp.sec == 0 and traj.header.stamp.nanosec == 0
    np.testing.assert_allclose(traj.points[-1].positions, TARGET, atol=1e-6)


def limits(contract):
    joints = contract.action.joints
    lower, upper, rate = (np.array([getattr(contract.limits[j], f) for j in joints])
                          for f in ('lower', 'upper', 'max_velocity'))
    return lower, upper, rate


def test_forward_commands_clamped_over_dds_and_a_hold_told_apart(harness, contract):
    """The policy asks for lift -2.5 and elbow 3.0; the robot gets -1.6 and 2.6, reached no faster
    than max_velocity. Holds are recognisable in the messages: before the first chunk the node
    holds the measured position; after an e-stop, one constant command, while the policy's own
    commands never stay constant (pan ramps)."""
    from std_msgs.msg import Bool
    lower, upper, _ = limits(contract)
    h = harness('beyond')
    h.start()
    assert h.wait_for(lambda: len(h.commands) > 150, 10.0)
    with h._lock:
        stamps = np.array([t for t, _ in h.commands])
        cmds = np.array([c for _, c in h.commands])
    assert np.all(cmds >= lower - 1e-9) and np.all(cmds <= upper + 1e-9)
    np.testing.assert_allclose(cmds[0], MEASURED, atol=1e-9)   # hold until the first chunk
    at_limit = np.flatnonzero(cmds[:, 2] >= upper[2] - 1e-9)
    assert at_limit.size and np.all(cmds[at_limit[0]:, 1:] == [lower[1], upper[2]])   # clamped
    # elbow 1.0 -> 2.6 at <= 2 rad/s takes >= 0.8 s (a crossfade alone would take 0.2 s)
    assert stamps[at_limit[0]] - stamps[0] > 0.6
    normal = cmds[at_limit[0]:]
    window = normal[-30:]
    assert np.ptp(window[:, 0]) > 0.01                          # the policy's pan ramp
    h.estop_pub.publish(Bool(data=True))
    assert h.wait_for(lambda: h.log_has('e-stop', ERROR))
    time.sleep(0.5)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 10 and np.ptp(held, axis=0).max() == 0.0
    assert list(held[0][1:]) == [lower[1], upper[2]] and 0.4 < held[0][0] < 1.3


def test_joint_trajectories_clamped_over_dds_and_a_hold_told_apart(harness, contract):
    """Each trajectory stays in the limits, point to point no faster than max_velocity; the
    policy's trajectories vary along the chunk, a hold is one point at the held position."""
    from std_msgs.msg import Bool
    lower, upper, rate = limits(contract)
    h = harness('beyond', output_mode='joint_trajectory')
    h.start()
    assert h.wait_for(lambda: len(h.trajectories) >= 4, 10.0)
    with h._lock:
        trajectories = list(h.trajectories)
    for traj in trajectories:
        t = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
                      for p in traj.points])
        points = np.array([p.positions for p in traj.points])
        assert len(points) > 1 and np.all(np.diff(np.concatenate([[0.0], t])) > 0)
        assert np.all(points >= lower - 1e-9) and np.all(points <= upper + 1e-9)
        steps = np.abs(np.diff(points, axis=0))
        assert np.all(steps <= rate * (np.diff(t)[:, None] + 1e-6))   # stamps: whole ns
    last = np.array([p.positions for p in trajectories[-1].points])
    assert np.all(last[:, 1:] == [lower[1], upper[2]])    # policy: -2.5.., 3.0..
    assert np.ptp(last[:, 0]) > 0.05                       # pan ramps along the chunk
    h.estop_pub.publish(Bool(data=True))
    assert h.wait_for(lambda: h.log_has('e-stop', ERROR))
    assert h.wait_for(lambda: len(h.trajectories[-1].points) == 1, 2.0)
    n = len(h.trajectories)
    time.sleep(0.4)
    assert len(h.trajectories) == n                       # one hold message, then quiet
    hold = h.trajectories[-1].points[0]
    assert hold.time_from_start.sec + hold.time_from_start.nanosec * 1e-9 > 0
    assert list(hold.positions[1:]) == [lower[1], upper[2]] and 0.4 < hold.positions[0] < 1.3


def test_disabled_until_enable_then_estop_latches_until_reset(harness):
    from std_msgs.msg import Bool
    h = harness('ramp', start_enabled=False)
    h.start()
    time.sleep(0.5)
    assert not h.commands
    assert h.enable(True).success
    moving(h, time.monotonic())
    h.estop_pub.publish(Bool(data=True))
    assert h.wait_for(lambda: h.log_has('e-stop', ERROR))
    time.sleep(0.4)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 3 and np.ptp(held, axis=0).max() == 0.0   # last safe command, repeated
    assert h.wait_for(lambda: 'e-stop' in h.last_diagnostic()[1], 2.5)
    assert h.reset().success
    assert h.wait_for(lambda: h.last_diagnostic()[1] == 'commanding', 2.5)
    moving(h, time.monotonic())


@pytest.mark.parametrize('bad, expect', [
    ('renamed', "'elbow'"),
    ('nan', 'non-finite'),
])
def test_bad_joint_states_hold_log_and_recover(harness, bad, expect):
    h = harness('ramp')
    h.start()
    moving(h, time.monotonic())
    if bad == 'renamed':
        h.names = ['shoulder_pan', 'shoulder_lift', 'elbow_joint']
    else:
        h.positions['elbow'] = math.nan
    assert h.wait_for(lambda: h.log_has(expect, ERROR)), h.logs
    time.sleep(0.4)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 3 and np.all(np.isfinite(held)) and np.ptp(held, axis=0).max() == 0.0
    assert h.wait_for(lambda: expect in h.last_diagnostic()[2].get('last error', '')
                      and h.last_diagnostic()[0] == b'\x02', 2.5)
    h.names = ['extra', 'elbow', 'shoulder_pan', 'shoulder_lift']
    h.positions['elbow'] = 1.0
    cmds = moving(h, time.monotonic())
    assert np.all(cmds >= np.array(TARGET) - 1e-6) and np.all(cmds <= np.array(TARGET) + 0.31)


def test_stale_stream_holds_and_resumes(harness):
    h = harness('ramp')
    h.start()
    moving(h, time.monotonic())
    h.publishing = False
    assert h.wait_for(lambda: h.log_has('stale', ERROR) or h.log_has('stale', WARN)), h.logs
    time.sleep(0.4)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 3 and np.ptp(held, axis=0).max() == 0.0
    assert h.wait_for(lambda: 'stale' in h.last_diagnostic()[1], 2.5)
    h.publishing = True
    assert h.wait_for(lambda: h.last_diagnostic()[1] == 'commanding', 2.5)
    moving(h, time.monotonic())


def test_out_of_order_stamp_is_dropped_with_warning(harness):
    from builtin_interfaces.msg import Time
    h = harness()
    h.start()
    settled(h, time.monotonic(), n=5)
    h.publish_state(stamp=Time(sec=1), values=[7.0, 7.0, 7.0, 7.0])
    assert h.wait_for(lambda: h.log_has('out-of-order', WARN)), h.logs
    assert h.wait_for(lambda: h.last_diagnostic()[2].get('dropped observations', '0') != '0', 2.5)
    np.testing.assert_allclose(settled(h, time.monotonic(), n=5)[-1], TARGET, atol=1e-6)


def test_non_finite_policy_output_is_never_commanded(harness):
    h = harness('nan')
    h.start()
    assert h.wait_for(lambda: h.log_has('non-finite', ERROR)), h.logs
    time.sleep(0.4)
    cmds = np.array(h.commands_since(0))
    assert np.all(np.isfinite(cmds))
    np.testing.assert_allclose(cmds[-1], [0.5, -0.5, 1.0])   # holds where the arm is


@pytest.mark.parametrize('policy, expect', [
    ('garbage', 'not a TorchScript archive'),
    ('other', 'rate_hz: policy 20.0, robot 10.0'),
])
def test_configure_refuses_bad_artifacts(harness, policy, expect):
    from rclpy.lifecycle import TransitionCallbackReturn
    h = harness(policy)
    assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert h.wait_for(lambda: h.log_has(expect, ERROR)), h.logs


def configure_errors(h, expect_success=False):
    """Configure; the ERROR lines logged. A refused configure leaves the node unconfigured."""
    from rclpy.lifecycle import TransitionCallbackReturn as R
    result = h.node.trigger_configure()
    assert result == (R.SUCCESS if expect_success else R.FAILURE), h.logs
    if not expect_success:
        assert h.node._state_machine.current_state[1] == 'unconfigured'
    return [m for lvl, m in h.logs if lvl == ERROR]


def test_policy_sha256_pins_policy_ts(harness, artifacts):
    from dil_ros.policy.digest import file_sha256, sidecar_path
    digest = file_sha256(artifacts['good'])
    assert sidecar_path(artifacts['good']).read_text().split()[0] == digest
    pinned = 'e' * 64
    errors = configure_errors(harness(policy_sha256=pinned))
    assert len(errors) == 1 and errors[0].startswith('configure failed: ')
    assert f'sha256 is {digest}, expected {pinned}' in errors[0]
    h = harness(policy_sha256=f'sha256:{digest.upper()}')
    h.start()
    np.testing.assert_allclose(settled(h, time.monotonic(), n=5)[-1], TARGET, atol=1e-6)


def test_form_runs_only_bound_to_its_policy_ts_and_contract(harness, tmp_path, contract):
    """bf16 beside policy.ts: used when made from it; refused after policy.ts is replaced, or
    when the form's own metadata names another contract."""
    from dataclasses import replace

    from dil_ros.accel.binding import bind
    from dil_ros.accel.forms import export_forms, sibling_path
    from dil_ros.accel.precision import reduced_precision_policy
    from dil_ros.accel.synthetic import TINY, export_synthetic, synthetic_policy
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.digest import file_sha256
    from dil_ros.policy.export import export_policy
    policy = synthetic_policy(TINY, num_inference_steps=2)
    path = export_synthetic(policy, tmp_path / 'policy.ts')
    export_forms(policy, path, ['bf16'], device='cpu')
    form = sibling_path(path, 'bf16')
    h = harness(policy_path=str(path), form='bf16')
    assert not configure_errors(h, expect_success=True)
    assert h.log_has('form bf16 on cpu')

    old = file_sha256(path)
    export_synthetic(synthetic_policy(TINY, num_inference_steps=2, seed=3), path)
    errors = configure_errors(harness(policy_path=str(path), form='bf16'))
    assert len(errors) == 1 and f'{form}: made from a policy.ts with sha256 {old}, but {path} ' \
        f'has sha256 {file_sha256(path)}' in errors[0], errors

    meta = load_artifact(path).meta
    other = bind({**meta, 'contract': replace(contract, rate_hz=20.0).to_mapping()}, path,
                 file_sha256(path))
    export_policy(reduced_precision_policy(policy, 'bf16'), form,
                  {k: v for k, v in other.items() if k != 'version'}, seal=True)
    errors = configure_errors(harness(policy_path=str(path), form='bf16'))
    assert len(errors) == 1 and f'{form}: trained for another contract' in errors[0], errors


def test_form_parameter_falls_back_or_refuses(harness):
    """`form` picks a faster form: cuda_graph without CUDA runs TorchScript and says so; a form
    whose file was never exported refuses to configure, naming the file."""
    from rclpy.lifecycle import TransitionCallbackReturn
    h = harness(form='cuda_graph')
    h.start()
    assert h.log_has('form torchscript'), h.logs
    settled(h, time.monotonic())
    h2 = harness(form='aot')
    assert h2.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert h2.wait_for(lambda: h2.log_has('no AOTInductor package', ERROR)), h2.logs


def start_main(tmp_path, policy_path, name, *overrides):
    """policy_node's console script as a process named ``name``, with config/policy.yaml
    (``overrides``: more ``name:=value`` parameters)."""
    import subprocess
    import sys
    # config/policy.yaml, keyed by the renamed node (types and names must match the declarations)
    params = tmp_path / f'{name}.yaml'
    yaml_text = (Path(__file__).resolve().parents[2] / 'config' / 'policy.yaml').read_text()
    params.write_text(yaml_text.replace('policy_node:', f'{name}:', 1))
    return subprocess.Popen(
        [sys.executable, '-m', 'dil_ros.nodes.policy_node', '--ros-args',
         '--params-file', str(params),
         '-r', f'__node:={name}',   # no stale graph entries of in-process nodes
         '-p', f'policy_path:={policy_path}', '-p', 'start_enabled:=true',
         *[arg for p in overrides for arg in ('-p', p)]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


@pytest.mark.parametrize('options', [(), ('inference_mode:=process', 'executor:=events')],
                         ids=['thread', 'process_events'])
def test_main_holds_on_ctrl_c(ros_context, artifacts, tmp_path, options):
    """The console script: lifecycle over services, then SIGINT sends a hold and exits cleanly,
    its inference worker process (if any) ended with it."""
    import re
    import signal

    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    from policy_harness import FakeRobot
    proc = start_main(tmp_path, artifacts['good'], 'policy_node_main', *options)
    robot = FakeRobot()
    try:
        cli = robot.robot.create_client(ChangeState, '/policy_node_main/change_state')
        for tid in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            result = robot.call(cli, ChangeState.Request(transition=Transition(id=tid)),
                                timeout=40.0)
            assert result is not None and result.success, f'transition {tid} failed'
        np.testing.assert_allclose(settled(robot, time.monotonic(), n=5)[-1], TARGET, atol=1e-6)
        n = len(robot.commands)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, out
        assert 'Traceback' not in out, out
        assert 'interrupted: sending hold' in out, out
        time.sleep(0.2)
        np.testing.assert_allclose(robot.commands[-1][1], TARGET, atol=1e-6)   # hold sent
        assert len(robot.commands) > n
        if options:
            pid = int(re.search(r'inference in a worker process: pid (\d+)', out).group(1))
            assert not running(pid), f'worker {pid} outlived policy_node'
            assert 'resource_tracker' not in out, out   # no leaked shared memory either
    finally:
        if proc.poll() is None:
            proc.kill()
        robot.close()


@pytest.mark.parametrize('state', ['unconfigured', 'failed_configure'])
def test_main_exits_on_ctrl_c_in_every_state(ros_context, artifacts, tmp_path, state):
    """Nothing wakes an unconfigured node's executor, yet Ctrl+C must end it at once."""
    import signal
    import subprocess

    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    import rclpy

    name = f'policy_node_sigint_{state}'
    policy = artifacts['garbage' if state == 'failed_configure' else 'good']
    proc = start_main(tmp_path, policy, name)
    probe = rclpy.create_node(f'{name}_probe')

    def call(srv, service, request):
        client = probe.create_client(srv, f'/{name}/{service}')
        assert client.wait_for_service(timeout_sec=40.0), f'{name}/{service} never appeared'
        future = client.call_async(request)
        rclpy.spin_until_future_complete(probe, future, timeout_sec=40.0)
        probe.destroy_client(client)
        assert future.done(), f'{name}/{service} did not answer'
        return future.result()
    try:
        if state == 'failed_configure':
            configure = Transition(id=Transition.TRANSITION_CONFIGURE)
            assert not call(ChangeState, 'change_state', ChangeState.Request(
                transition=configure)).success
        # the answer shows the executor is spinning; afterwards nothing is left to wake it
        assert call(GetState, 'get_state', GetState.Request()).current_state.id == \
            State.PRIMARY_STATE_UNCONFIGURED
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f'policy_node ({state}) ignored Ctrl+C for 10 s')
        assert proc.returncode == 0, out
        assert time.monotonic() - t0 < 5.0
        assert 'Traceback' not in out, out
        if state == 'failed_configure':
            assert 'configure failed' in out and 'not a TorchScript archive' in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        probe.destroy_node()


def test_process_mode_commands_and_a_killed_worker_holds_by_name(harness):
    """inference_mode process commands like thread mode; when its worker dies the node holds at
    once, naming the worker and how it ended, and says so in /diagnostics."""
    import os
    import signal
    cpu = sorted(os.sched_getaffinity(0))[-1]
    h = harness('ramp', inference_mode='process', inference_nice=5, inference_cpus=str(cpu))
    h.start()
    assert h.log_has('inference in a worker process: pid'), h.logs
    assert h.log_has(f'nice 5, CPUs [{cpu}]'), h.logs
    pid = h.node._worker.pid
    cmds = moving(h, time.monotonic())
    assert np.all(cmds >= np.array(TARGET) - 1e-6) and np.all(cmds <= np.array(TARGET) + 0.31)
    os.kill(pid, signal.SIGKILL)
    reason = f'inference worker process (pid {pid}) was killed by SIGKILL'
    assert h.wait_for(lambda: h.log_has(reason, ERROR), 5.0), h.logs
    time.sleep(0.4)
    held = np.array(h.commands_since(time.monotonic() - 0.3))
    assert len(held) > 3 and np.ptp(held, axis=0).max() == 0.0
    assert h.wait_for(lambda: reason in h.last_diagnostic()[1]
                      and h.last_diagnostic()[0] == b'\x02', 2.5)
    assert not running(pid)


def test_twist_output_for_a_mobile_base(harness, tmp_path):
    import yaml

    from dil_ros.contract import load_contract
    from policy_artifacts import offset_artifact
    base = yaml.safe_dump({
        'name': 'base', 'rate_hz': 10.0, 'n_obs_steps': 2, 'horizon': 16, 'n_action_steps': 8,
        'observations': {'observation.state': {
            'topic': '/joint_states', 'type': 'sensor_msgs/msg/JointState',
            'joints': ['left_wheel', 'right_wheel']}},
        'action': {'joints': ['linear.x', 'angular.z'], 'controller': 'base'},
        'teleop': {'topic': '/base/commands', 'type': 'std_msgs/msg/Float64MultiArray'},
        'limits': {'linear.x': {'lower': -0.5, 'upper': 0.5, 'max_velocity': 1.0},
                   'angular.z': {'lower': -1.0, 'upper': 1.0, 'max_velocity': 2.0}}})
    (tmp_path / 'base.yaml').write_text(base)
    c = load_contract(tmp_path / 'base.yaml')
    policy = offset_artifact(tmp_path / 'base.ts', c, delta=(0.5, 0.02))
    h = harness(contract=str(tmp_path / 'base.yaml'), output_mode='twist', policy_path=str(policy))
    h.names = ['right_wheel', 'left_wheel']
    h.positions.update(left_wheel=0.1, right_wheel=0.2)
    h.start()
    assert h.wait_for(lambda: len(h.twists) > 60, 10.0)
    np.testing.assert_allclose(h.twists[-1][1], [0.5, 0.22], atol=1e-6)   # 0.6 clamped to 0.5
    assert h.twists[0][1][0] < 0.05      # starts from standstill


def test_use_sim_time(harness):
    h = harness(use_sim_time=True)
    h.sim_time = 1000.0        # the fake robot now publishes /clock from 1000 s and stamps with it
    h.start()
    np.testing.assert_allclose(settled(h, time.monotonic(), n=5)[-1], TARGET, atol=1e-6)
    assert h.wait_for(lambda: h.last_diagnostic()[1] == 'commanding', 2.5)
    assert float(h.last_diagnostic()[2]['observation age [s]']) < 0.5
    assert 1000.0 < h.node.now() < 1100.0


def test_inference_cpus_parsed_or_refused_by_name():
    from dil_ros.nodes.policy_params import parse_cpus
    assert parse_cpus('') == () and parse_cpus('1') == (1,) and parse_cpus('0, 2') == (0, 2)
    for bad in ('one', '-1', '1;2'):
        with pytest.raises(ValueError, match='inference_cpus'):
            parse_cpus(bad)


def test_lifecycle_deactivate_holds_cleanup_and_reconfigure(harness):
    from rclpy.lifecycle import TransitionCallbackReturn as R
    h = harness(output_mode='joint_trajectory', gc_freeze=True)
    h.start()
    assert h.wait_for(lambda: len(h.trajectories) >= 1, 5.0)
    assert h.node.trigger_deactivate() == R.SUCCESS
    assert h.wait_for(lambda: len(h.trajectories[-1].points) == 1)   # hold: stay where commanded
    assert h.trajectories[-1].points[0].time_from_start.nanosec > 0
    n = len(h.trajectories)
    time.sleep(0.3)
    assert len(h.trajectories) == n                         # inactive: silent
    assert gc.get_freeze_count() > 0          # gc_freeze: loading's objects left out of gc
    assert h.node.trigger_cleanup() == R.SUCCESS
    assert h.node._ctl is None and gc.get_freeze_count() == 0
    h.start()
    assert h.wait_for(lambda: len(h.trajectories) > n, 5.0)
