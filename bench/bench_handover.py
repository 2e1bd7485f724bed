"""Chunk hand-over under inference delay: none / crossfade / ensemble / guided, closed loop.

Drives policy_node's whole decision logic (dil_ros.control.PolicyController: observation buffer,
scheduler, hand-over, limits, guided prefix planning) against the embedded MuJoCo arm in simulated
time, with a policy.ts: every control tick (100 Hz) the sim's joint positions and goal go in and
the command comes out (forward_command mode); a chunk requested at sim time ``t`` is computed at
once and delivered at ``t + base latency + delay``, while the arm keeps executing the chunk in
force. Simulated time makes the latency exactly what the cell says on a shared, loaded CPU (the
wall-clock latency of this machine would add its own noise) and keeps 50 episodes x 20 cells in
minutes. It is not DDS: the same cells over DDS need policy_node's ``inference_delay_s`` (the
node integration; see the README).

Per cell: success rate, the largest command step within one policy period after a chunk arrival
(hand-over) vs elsewhere (inside chunks), p99 |third difference| of the commands (jerk, rad/s^3),
episodes whose tip path switches between the inner and the outer way round the pillar
mid-motion, and the mode split.

    .venv/bin/python bench/bench_handover.py --policy runs/handover/teacher.ts --episodes 100 \
        --handovers none,crossfade,ensemble,guided/hold=0,guided --out runs/handover/final
        # writes handover.json and handover.png; guided/hold=0 is RTC's decay
"""
import argparse
import json
from pathlib import Path
import sys
import time
from typing import Dict, List

import numpy as np
import torch

HANDOVERS = ('none', 'crossfade', 'ensemble', 'guided')
# a cell's hand-over may carry options: 'guided/hold=inf/soft=0.2/fade=0' (ControlConfig
# guide_hold_s, guide_soft_s, guide_hold_below_s, crossfade_steps): variants side by side
OPTIONS = {'hold': ('guide_hold_s', float), 'soft': ('guide_soft_s', float),
           'below': ('guide_hold_below_s', float), 'fade': ('crossfade_steps', int)}
DELAYS_MS = (0, 100, 200, 300, 500)
CONTROL_HZ = 100.0
SEED_BASE = 100000          # unseen: the demo records episodes 0..N-1


def load(path: str):
    from dil_ros.contract import contract_from_mapping
    from dil_ros.policy.artifact import load_artifact
    art = load_artifact(path)
    return art.module, contract_from_mapping(art.meta['contract'], f'{path}: contract')


class Policy:
    """policy.ts called the way the node's inference worker calls it (batch of one)."""

    def __init__(self, module):
        self.module = module
        self.wall: List[float] = []

    def __call__(self, request) -> np.ndarray:
        obs = {k: torch.as_tensor(np.asarray(v), dtype=torch.float32)[None]
               for k, v in request.obs.items()}
        t = time.perf_counter()
        with torch.inference_mode():
            if request.prefix is None:
                out = self.module(obs, None)
            else:
                out = self.module(obs, None,
                                  torch.as_tensor(request.prefix, dtype=torch.float32)[None],
                                  torch.as_tensor(request.prefix_weight,
                                                  dtype=torch.float32)[None])
        self.wall.append(time.perf_counter() - t)
        return out[0].double().numpy()


def control_config(handover: str, crossfade_steps: int = 20):
    """ControlConfig for a cell's hand-over name ('guided/hold=inf/fade=0': options above)."""
    from dil_ros.control.controller import ControlConfig
    name, *opts = handover.split('/')
    kwargs = {'rate_hz': CONTROL_HZ, 'handover': name, 'crossfade_steps': crossfade_steps}
    for opt in opts:
        key, _, value = opt.partition('=')
        if key not in OPTIONS:
            raise SystemExit(f'--handovers: {handover!r}: unknown option {key!r} '
                             f'(known: {", ".join(OPTIONS)})')
        field, kind = OPTIONS[key]
        kwargs[field] = kind(value)
    return ControlConfig(**kwargs)


def run_episode(policy: Policy, contract, handover: str, latency_s: float, seed: int,
                crossfade_steps: int = 20) -> Dict:
    from dil_ros.control.controller import PolicyController
    from dil_ros.sim.arm_sim import ArmSim
    sim = ArmSim()
    sim.reset(seed)
    torch.manual_seed(seed)          # the sampler's noise: every variant sees the same draws
    ctl = PolicyController(contract, control_config(handover, crossfade_steps),
                           stamped_keys=['observation.state'], initial_latency_s=latency_s)
    ctl.set_active(True)
    ctl.set_enabled(True)
    period = 1.0 / CONTROL_HZ
    pending, commands, arrivals, path = [], [], [], []
    while not sim.done:
        now = sim.clock
        stamp = int(round(now * 1e9))
        ctl.observe('observation.state', stamp, sim.positions)
        ctl.observe('observation.environment_state', stamp, sim.goal)
        for item in [p for p in pending if p[0] <= now + 1e-9]:
            pending.remove(item)
            ctl.on_result(item[1], item[2], now, latency_s)
            arrivals.append(len(commands))
        tick = ctl.tick(now)
        if tick.request is not None:
            pending.append((now + latency_s, tick.request, policy(tick.request)))
        if tick.command is not None:
            sim.command_positions(tick.command)
            commands.append(np.array(tick.command))
        path.append(sim.positions)
        sim.run_for(period)
    return {'status': sim.status, 'commands': np.array(commands), 'arrivals': arrivals,
            'path': np.array(path)}


def step_figures(commands: np.ndarray, arrivals: List[int], dt_policy: float) -> Dict:
    """Largest per-tick command step after arrivals (one policy period) vs elsewhere; jerk."""
    if len(commands) < 4:
        return {'step_handover': np.nan, 'step_in_chunk': np.nan, 'jerk': [], 'steps_h': [],
                'steps_c': []}
    steps = np.abs(np.diff(commands, axis=0)).max(axis=1)     # steps[k]: command k -> k+1
    window = int(round(dt_policy * CONTROL_HZ))
    at_handover = np.zeros(len(steps), bool)
    for a in arrivals[1:]:                                    # the first chunk starts the motion
        at_handover[max(a - 1, 0):a - 1 + window] = True
    jerk = np.abs(np.diff(commands, n=3, axis=0)).max(axis=1) * CONTROL_HZ ** 3
    return {'step_handover': float(steps[at_handover].max()) if at_handover.any() else np.nan,
            'step_in_chunk': float(steps[~at_handover].max()) if (~at_handover).any() else np.nan,
            'jerk': jerk.tolist(), 'steps_h': steps[at_handover].tolist(),
            'steps_c': steps[~at_handover].tolist()}


def switches_side(path_q: np.ndarray) -> bool:
    """True when the tip commits to one side of the pillar, then to the other, before passing."""
    from dil_ros.demo.plots import tip_paths
    from dil_ros.sim.task import ReachAroundTask
    task = ReachAroundTask()
    tip = tip_paths([path_q])[0]
    cx, cy = task.obstacle_xy
    crossing = np.nonzero(np.diff(np.sign(tip[:, 1] - cy)) > 0)[0]
    end = crossing[0] + 1 if len(crossing) else len(tip)
    approach = tip[:end]
    approach = approach[approach[:, 1] > cy - 0.35]           # the stretch where the way is chosen
    radius = np.hypot(approach[:, 0], approach[:, 1])
    margin = task.obstacle_radius
    return bool(np.any(radius < cx - margin) and np.any(radius > cx + margin))


def run_cell(policy: Policy, contract, handover: str, delay_ms: float, base_ms: float,
             episodes: int, crossfade_steps: int = 20) -> Dict:
    from dil_ros.demo.plots import mode_split
    results, jerks, hand, inside, paths, switches = [], [], [], [], [], 0
    steps_h, steps_c = [], []
    for k in range(episodes):
        r = run_episode(policy, contract, handover, (base_ms + delay_ms) / 1e3, SEED_BASE + k,
                        crossfade_steps)
        f = step_figures(r['commands'], r['arrivals'], contract.dt)
        results.append(r['status'])
        jerks += f['jerk']
        hand.append(f['step_handover'])
        inside.append(f['step_in_chunk'])
        steps_h += f['steps_h']
        steps_c += f['steps_c']
        paths.append(r['path'])
        switches += switches_side(r['path'])
    return {'handover': handover, 'delay_ms': delay_ms, 'episodes': episodes,
            'success_rate': results.count('success') / episodes,
            'statuses': {s: results.count(s) for s in sorted(set(results))},
            'max_step_handover_rad': float(np.nanmax(hand)),
            'max_step_in_chunk_rad': float(np.nanmax(inside)),
            'p99_step_handover_rad': float(np.percentile(steps_h, 99)) if steps_h else np.nan,
            'p99_step_in_chunk_rad': float(np.percentile(steps_c, 99)) if steps_c else np.nan,
            'p99_jerk_rad_s3': float(np.percentile(jerks, 99)) if jerks else float('nan'),
            'side_switches': switches, 'modes': mode_split(paths)}


def plot(cells: List[Dict], out: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for handover in dict.fromkeys(c['handover'] for c in cells):
        rows = sorted((c for c in cells if c['handover'] == handover), key=lambda c: c['delay_ms'])
        if not rows:
            continue
        d = [c['delay_ms'] for c in rows]
        a1.plot(d, [100 * c['success_rate'] for c in rows], 'o-', label=handover)
        a2.plot(d, [c['p99_jerk_rad_s3'] for c in rows], 'o-', label=handover)
    a1.set_xlabel('extra inference delay [ms]')
    a1.set_ylabel('success [%]')
    a2.set_xlabel('extra inference delay [ms]')
    a2.set_ylabel('p99 jerk [rad/s^3]')
    a2.set_yscale('log')
    a1.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--policy', default='runs/demo/policy.ts')
    parser.add_argument('--episodes', type=int, default=50, help='episodes per cell')
    parser.add_argument('--delays', default=','.join(str(d) for d in DELAYS_MS),
                        help='extra inference delays, ms (comma list)')
    parser.add_argument('--handovers', default=','.join(HANDOVERS))
    parser.add_argument('--base-latency-ms', type=float, default=15.0,
                        help='inference latency before the extra delay (the demo p50 is ~11 ms)')
    parser.add_argument('--out', type=Path, default=Path('runs/handover'))
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--crossfade-steps', type=int, default=20,
                        help="policy_node's crossfade_steps (0: no fading offset at a hand-over)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    module, contract = load(args.policy)
    policy = Policy(module)
    args.out.mkdir(parents=True, exist_ok=True)
    cells = []
    for delay in [float(d) for d in args.delays.split(',') if d]:
        for handover in [h for h in args.handovers.split(',') if h]:
            t = time.perf_counter()
            cell = run_cell(policy, contract, handover, delay, args.base_latency_ms,
                            args.episodes, args.crossfade_steps)
            cells.append(cell)
            print(f"delay {delay:5.0f} ms {handover:9s} success {cell['success_rate']:5.0%} "
                  f"step hand-over {cell['max_step_handover_rad']:.4f} / in chunk "
                  f"{cell['max_step_in_chunk_rad']:.4f} rad (p99 "
                  f"{cell['p99_step_handover_rad']:.4f} / {cell['p99_step_in_chunk_rad']:.4f}), "
                  f"p99 jerk "
                  f"{cell['p99_jerk_rad_s3']:9.1f}, side switches {cell['side_switches']}, "
                  f"{cell['modes']} ({time.perf_counter() - t:.0f} s)", flush=True)
            (args.out / 'handover.json').write_text(json.dumps(
                {'policy': str(args.policy), 'base_latency_ms': args.base_latency_ms,
                 'crossfade_steps': args.crossfade_steps,
                 'control_hz': CONTROL_HZ, 'cells': cells}, indent=1))
    plot(cells, args.out / 'handover.png',
         f'{Path(args.policy).name}: {args.episodes} episodes per cell, simulated time')
    return 0


if __name__ == '__main__':
    sys.exit(main())
