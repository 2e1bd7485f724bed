#!/usr/bin/env python3
"""policy_node timing against a fake robot over DDS on localhost (one process, real node code).

1. Latency/jitter, side by side: the default small diffusion network (untrained DiffusionPolicy,
   down_dims 64/128/256, DDIM-10; latency is what matters) commanding at 100 Hz under each
   inference option (``inference_mode`` thread | process, the worker's ``inference_nice`` and
   ``inference_cpus``, the node's ``gc_freeze``, and
   ``executor`` single_threaded | events), the options interleaved over ``--rounds`` so that load
   from other jobs falls on each alike, plus a cheap policy (the ramp below) as the floor:
   control-loop period jitter |period - 10 ms| (p50/p99/max) while inference runs, observation
   stamp -> first command using it (p50/p99), inference per chunk, largest gap between commands
   (all, and across chunk hand-overs). The fake robot runs in its own process.
2. Hand-over run per mode: a ramp policy (moves 0.2 rad/s from the observed state) on an arm whose
   joint states lag its commands by --lag seconds. Each new chunk then starts behind the command:
   'none' yanks backward; crossfade/ensemble blend from the commanded position. Largest position
   step between consecutive commands inside hand-over windows vs inside chunks.

    .venv/bin/python bench/bench_policy_node.py [--seconds 6] [--rounds 2] [--lag 0.15]
        [--options thread,process,...] [--json out.json]
"""

import argparse
from collections import deque
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Optional

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 100 + 100))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from dil_ros.contract import resolve_contract  # noqa: E402
from dil_ros.policy.export import export_policy  # noqa: E402


class RampPolicy(nn.Module):
    """actions[i] = newest state + step * (i - (To - 1)): a steady move from the observation."""

    def __init__(self, horizon: int, n_obs_steps: int, step: float):
        super().__init__()
        self.horizon, self.n_obs_steps, self.step = horizon, n_obs_steps, step

    def forward(self, obs: Dict[str, torch.Tensor],
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        state = obs['observation.state'][:, -1, :]
        i = torch.arange(self.horizon, dtype=state.dtype) - (self.n_obs_steps - 1)
        return state.unsqueeze(1) + self.step * i.view(1, -1, 1)


def build_artifacts(contract, folder: Path) -> Dict[str, str]:
    from dil_ros.policy.config import PolicyConfig
    from dil_ros.policy.diffusion_policy import DiffusionPolicy
    from dil_ros.policy.export import diffusion_metadata
    torch.manual_seed(0)
    config = PolicyConfig(n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
                          n_action_steps=contract.n_action_steps, down_dims=(64, 128, 256))
    dims = {**contract.obs_dims, 'action': contract.action_dim}
    stats = {k: {'min': [-1.0] * d, 'max': [1.0] * d} for k, d in dims.items()}
    policy = DiffusionPolicy(config, contract.obs_dims, contract.action_dim, stats)
    small = export_policy(policy, folder / 'small.ts',
                          diffusion_metadata(policy, contract, 'untrained'))
    meta = {'kind': 'regression', 'contract': contract.to_mapping(),
            'n_obs_steps': contract.n_obs_steps, 'horizon': contract.horizon,
            'n_action_steps': contract.n_action_steps, 'obs_dims': contract.obs_dims,
            'action_dim': contract.action_dim, 'num_inference_steps': 1,
            'data_fingerprint': 'bench'}
    ramp = export_policy(RampPolicy(contract.horizon, contract.n_obs_steps, 0.02),
                         folder / 'ramp.ts', meta)
    return {'small': str(small), 'ramp': str(ramp)}


def fake_robot(lag_s: float) -> None:
    """Publishes /joint_states at 100 Hz: the command received ``lag_s`` ago (a lagging arm)."""
    import rclpy
    from geometry_msgs.msg import Point
    from rclpy.executors import ExternalShutdownException
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    rclpy.init()
    robot = rclpy.create_node('bench_fake_robot')
    joints = ['shoulder_pan', 'shoulder_lift', 'elbow']
    start = np.array([0.0, -0.3, 0.3])
    sent = deque()    # (wall, command) as received
    js = robot.create_publisher(JointState, '/joint_states', 10)
    goal = robot.create_publisher(Point, '/task/goal', 10)

    def publish_state():
        now = time.perf_counter()
        q = start
        while len(sent) > 1 and sent[1][0] <= now - lag_s:
            sent.popleft()
        if sent and sent[0][0] <= now - lag_s:
            q = sent[0][1]
        msg = JointState(name=joints, position=[float(x) for x in q])
        msg.header.stamp = robot.get_clock().now().to_msg()
        js.publish(msg)
        goal.publish(Point(x=0.3, y=0.0, z=0.2))

    robot.create_subscription(Float64MultiArray, '/arm_controller/commands',
                              lambda m: sent.append((time.perf_counter(), np.array(m.data))), 10)
    robot.create_timer(0.01, publish_state)
    try:
        rclpy.spin(robot)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        robot.destroy_node()
        rclpy.try_shutdown()


# option: (policy_node parameters, executor), the small diffusion net under each; *_gcfreeze with
# the node's gc_freeze (off by default).
OPTIONS = {
    'thread': ({'inference_mode': 'thread'}, 'single_threaded'),
    'thread_gcfreeze': ({'inference_mode': 'thread', 'gc_freeze': True}, 'single_threaded'),
    'process': ({'inference_mode': 'process'}, 'single_threaded'),
    'process_gcfreeze': ({'inference_mode': 'process', 'gc_freeze': True}, 'single_threaded'),
    'process_cpu1': ({'inference_mode': 'process', 'inference_cpus': '1'}, 'single_threaded'),
    'process_nice10': ({'inference_mode': 'process', 'inference_nice': 10}, 'single_threaded'),
    'process_nice10_cpu1': ({'inference_mode': 'process', 'inference_nice': 10,
                             'inference_cpus': '1'}, 'single_threaded'),
    'thread_events': ({'inference_mode': 'thread'}, 'events'),
    'process_events': ({'inference_mode': 'process'}, 'events'),
    'process_nice10_events': ({'inference_mode': 'process', 'inference_nice': 10}, 'events'),
}
DEFAULT_OPTIONS = 'thread,thread_gcfreeze,process,process_gcfreeze,process_cpu1,process_nice10'


def run(policy_path: str, seconds: float, handover: str = 'crossfade', lag_s: float = 0.0,
        params: Optional[dict] = None, executor_name: str = 'single_threaded'):
    """One node + fake robot for ``seconds``; what the node did, timed on the wall clock."""
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from dil_ros.nodes.policy_node import make_executor, PolicyNode

    params = {'policy_path': policy_path, 'start_enabled': True, 'handover': handover,
              **(params or {})}
    node = PolicyNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    robot = subprocess.Popen([sys.executable, __file__, '--robot', '--lag', str(lag_s)])
    ticks, commands, chunk_events = [], [], []   # wall clock; node clock; node clock
    collections = []   # (wall start, wall end) of the node process's full (gen 2) collections

    def on_gc(phase, info, started=[0.0]):
        if info['generation'] == 2:
            if phase == 'start':
                started[0] = time.perf_counter()
            else:
                collections.append((started[0], time.perf_counter()))
    gc.callbacks.append(on_gc)
    executor = make_executor(executor_name)   # as policy_node main() does
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    # rclpy 9.1's EventsExecutor deadlocks when another thread makes entities while it spins
    # (main() makes them in its service callbacks): configure and activate before it spins
    events = executor_name == 'events'
    if not events:
        thread.start()
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS, 'configure failed'
    ctl = node._ctl
    tick_fn, publish_fn = ctl.tick, node._publish

    def tick(now):
        ticks.append(time.perf_counter())
        result = tick_fn(now)
        result.now = now
        if result.new_chunk and ctl.scheduler.newest is not None:
            chunk_events.append((now, now - ctl.scheduler.newest.t0))
        return result

    def publish(result):
        publish_fn(result)
        if result.command is not None and ctl.active:
            commands.append((getattr(result, 'now', node.now()), result.command.copy(),
                             result.new_chunk))

    ctl.tick, node._publish = tick, publish
    node.trigger_activate()
    if events:
        thread.start()
    end = time.perf_counter() + 30.0
    while not chunk_events and time.perf_counter() < end:   # robot process up, first chunk in
        time.sleep(0.05)
    time.sleep(seconds)
    with node._lock:   # the control loop's thread mutates what status reads
        status = ctl.status(node.now())[2]
        latencies = list(ctl.wall_latencies)
    if events:   # stop it before entities go
        executor.shutdown(timeout_sec=2.0)
        thread.join(2.0)
    node.trigger_shutdown()
    if not events:
        executor.shutdown(timeout_sec=2.0)
        thread.join(2.0)
    node.destroy_node()
    robot.send_signal(signal.SIGINT)
    try:
        robot.wait(15)
    except subprocess.TimeoutExpired:   # a loaded machine: do not leave it behind
        robot.kill()
        robot.wait(5)
    gc.callbacks.remove(on_gc)
    return {'ticks': np.array(ticks), 'commands': commands, 'chunks': chunk_events,
            'collections': collections,
            'status': status, 'fade_s': ctl.scheduler.fade_s, 'period': ctl.period,
            'latencies': latencies}


def pct(x, q):
    return float(np.percentile(x, q)) if len(x) else float('nan')


def timing_figures(runs) -> Dict[str, float]:
    """Figures over one or more runs of the same option (samples pooled across rounds)."""
    runs = runs if isinstance(runs, list) else [runs]
    jitter, obs_to_cmd, gaps, handover_gaps, latencies = [], [], [], [], []
    for r in runs:
        jitter.append(np.abs(np.diff(r['ticks'][5:]) - r['period']) * 1e3)
        t_cmd = np.array([t for t, _, _ in r['commands']])
        g = np.diff(t_cmd) * 1e3
        gaps.append(g)
        arrivals = [t for t, _ in r['chunks']]
        handover_gaps += [g[i] for i in range(len(g))
                          if any(t_cmd[i] <= a <= t_cmd[i + 1] + r['period'] for a in arrivals)]
        obs_to_cmd.append(np.array([age for _, age in r['chunks']]) * 1e3)
        latencies.append(np.array(r['latencies']) * 1e3)
    jitter, gaps, obs_to_cmd, latencies = (np.concatenate(x) for x in
                                           (jitter, gaps, obs_to_cmd, latencies))
    return {
        'chunks': len(obs_to_cmd), 'loop_periods': len(jitter),
        'obs_to_command_p50_ms': pct(obs_to_cmd, 50), 'obs_to_command_p99_ms': pct(obs_to_cmd, 99),
        'loop_jitter_p50_ms': pct(jitter, 50), 'loop_jitter_p99_ms': pct(jitter, 99),
        'loop_jitter_max_ms': _max(jitter),
        'max_command_gap_ms': _max(gaps),
        'max_gap_at_handover_ms': _max(handover_gaps),
        'inference_p50_ms': pct(latencies, 50), 'inference_p99_ms': pct(latencies, 99),
        'dropped_actions': sum(int(r['status']['dropped actions']) for r in runs),
        'loop_overruns': sum(int(r['status']['loop overruns']) for r in runs),
        **gc_figures(runs),
    }


def gc_figures(runs) -> Dict[str, float]:
    """Full collections of the node's process while it commanded (the control loop waits for
    them: they hold the interpreter lock), their longest, and how many of the periods late by
    more than 5 ms overlapped one."""
    durations, late, late_in_gc = [], 0, 0
    for r in runs:
        ticks = r['ticks'][5:]
        spans = [(a, b) for a, b in r['collections'] if len(ticks) and ticks[0] <= b]
        durations += [(b - a) * 1e3 for a, b in spans]
        for t0, t1 in zip(ticks[:-1], ticks[1:]):
            if abs(t1 - t0 - r['period']) * 1e3 > 5.0:
                late += 1
                late_in_gc += any(a < t1 and b > t0 for a, b in spans)
    return {'gc_full_collections': len(durations), 'gc_full_max_ms': _max(durations),
            'late_periods_over_5ms': late, 'late_periods_in_a_gc': late_in_gc}


def _max(x) -> float:
    return float(np.max(x)) if len(x) else float('nan')


def step_figures(r) -> Dict[str, float]:
    """Largest |step| between consecutive commands: within hand-over windows vs inside chunks."""
    t = np.array([c[0] for c in r['commands']])
    q = np.stack([c[1] for c in r['commands']])
    flags = np.array([c[2] for c in r['commands']])
    first = np.argmax(flags)                              # first chunk: starts from the hold
    arrivals = t[flags][1:]                               # hand-overs between chunks
    steps = np.abs(np.diff(q, axis=0)).max(axis=1)
    speeds = steps / np.maximum(np.diff(t), 1e-4)         # step per elapsed time: immune to jitter
    window = max(r['fade_s'], 2 * r['period'])
    in_handover = np.array([np.any((ti >= arrivals - 1e-6) & (ti < arrivals + window))
                            for ti in t[1:]])
    body = np.arange(1, len(t)) > first + int(window / r['period']) + 1
    backward = np.diff(q[first:, 0])                      # the ramp moves forward (+) in joint 0
    return {
        'handovers': len(arrivals),
        'max_step_handover_rad': _max(steps[in_handover & body]),
        'max_step_in_chunk_rad': _max(steps[~in_handover & body]),
        'max_speed_handover_rad_s': _max(speeds[in_handover & body]),
        'max_speed_in_chunk_rad_s': _max(speeds[~in_handover & body]),
        'most_backward_step_rad': float(min(backward.min(), 0.0)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=6.0, help='per run')
    parser.add_argument('--rounds', type=int, default=2,
                        help='interleaved runs of each inference option (samples pooled)')
    parser.add_argument('--options', default=DEFAULT_OPTIONS,
                        help=f'comma-separated, of {", ".join(OPTIONS)}')
    parser.add_argument('--lag', type=float, default=0.15, help='arm lag behind its command [s]')
    parser.add_argument('--json', type=Path, help='write the figures here')
    parser.add_argument('--no-handover', action='store_true', help='skip the hand-over runs')
    parser.add_argument('--artifacts', type=Path,
                        help='folder with small.ts and ramp.ts from an earlier run (skips export)')
    parser.add_argument('--robot', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.robot:
        fake_robot(args.lag)
        return 0
    import rclpy
    contract = resolve_contract(None)
    rclpy.init()
    out = {'cpu_count': os.cpu_count(), 'torch_threads': 1}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            paths = ({k: str(args.artifacts / f'{k}.ts') for k in ('small', 'ramp')}
                     if args.artifacts else build_artifacts(contract, Path(tmp)))
            options = [o for o in args.options.split(',') if o]
            unknown = sorted(set(options) - set(OPTIONS))
            if unknown:
                parser.error(f'--options: unknown {unknown}; known: {", ".join(OPTIONS)}')
            pooled = {o: [] for o in options + ['cheap_policy']}
            for _ in range(args.rounds):   # interleaved: load from other jobs falls on all
                for option in options + ['cheap_policy']:
                    if option == 'cheap_policy':
                        pooled[option].append(run(paths['ramp'], args.seconds))
                    else:
                        params, executor = OPTIONS[option]
                        pooled[option].append(run(paths['small'], args.seconds, params=params,
                                                  executor_name=executor))
                    name = 'small_diffusion_100hz' if option == 'thread' else f'jitter_{option}'
                    out[name] = {'option': option, 'runs': len(pooled[option]),
                                 **timing_figures(pooled[option])}
                    if args.json:   # so far: a long run on a loaded machine keeps what it has
                        args.json.write_text(json.dumps(out, indent=1))
            for handover in () if args.no_handover else ('none', 'crossfade', 'ensemble'):
                r = run(paths['ramp'], args.seconds, handover=handover, lag_s=args.lag)
                out[f'lagging_arm_{handover}'] = {**step_figures(r), **{
                    k: v for k, v in timing_figures(r).items() if 'gap' in k or 'jitter' in k}}
    finally:
        rclpy.try_shutdown()
    for name, figures in out.items():
        if isinstance(figures, dict):
            print(f'{name}:')
            for k, v in figures.items():
                print(f'  {k:28s} {v:10.4f}' if isinstance(v, float) else f'  {k:28s} {v:>10}')
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
