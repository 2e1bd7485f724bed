"""The faster task variant of the hand-over benchmark: the scripted expert ``--speed`` x as fast.

Records expert demonstrations offline, in simulated time (no ROS): the MuJoCo arm of dil_ros.sim
driven by dil_ros.sim.expert.ScriptedExpert with its duration range divided by ``--speed``, the
expert commanding at 20 Hz as expert_node does, and each episode sampled on the contract's grid
the way the converter samples a bag (zero-order hold: the newest joint state and the newest
command at each grid time); failed expert episodes are dropped, as the recorder discards them.
Then a LeRobot dataset, a diffusion policy trained with the demo's config, and policy.ts:

    .venv/bin/python bench/fast_variant.py --speed 2 --episodes 100 --out runs/fast
    .venv/bin/python bench/bench_handover.py --policy runs/fast/policy.ts --delays 0,200,300 \\
        --handovers none,crossfade,guided --out runs/fast/handover
"""
import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np

EXPERT_HZ = 20.0          # expert_node's default command rate


def record_episode(seed: int, speed: float, contract):
    """One expert episode on the contract's grid, or None when the expert failed."""
    from dil_ros.data.episode import Episode
    from dil_ros.sim.arm_sim import ArmSim
    from dil_ros.sim.expert import ScriptedExpert
    sim = ArmSim()
    sim.reset(seed)
    expert = ScriptedExpert(seed=seed)
    expert.duration = tuple(d / speed for d in expert.duration)   # its default range, faster
    plan = expert.plan(sim.positions, sim.goal)
    per_grid = int(round(EXPERT_HZ * contract.dt))
    states, actions, goals = [], [], []
    k = 0
    while not sim.done:
        command = plan(k / EXPERT_HZ)
        if k % per_grid == 0:                    # a grid time: newest state, newest command
            states.append(sim.positions)
            goals.append(sim.goal)
            actions.append(command)
        sim.command_positions(command)
        sim.run_for(1.0 / EXPERT_HZ)
        k += 1
    if sim.status != 'success':
        return None, plan.side
    n = len(states)
    return Episode(observations={'observation.state': np.array(states, np.float32),
                                 'observation.environment_state': np.array(goals, np.float32)},
                   action=np.array(actions, np.float32), timestamps=np.arange(n) * contract.dt,
                   task='reach the goal around the pillar',
                   metadata={'seed': seed, 'side': plan.side, 'speed': speed}), plan.side


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--speed', type=float, default=2.0, help='expert speed factor')
    parser.add_argument('--episodes', type=int, default=100)
    parser.add_argument('--steps', type=int, default=None, help='training steps (config: 3000)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--time-limit-s', type=float, default=None,
                        help="training's wall budget (the steps that fit; see dil-ros train)")
    parser.add_argument('--out', type=Path, default=Path('runs/fast'))
    args = parser.parse_args(argv)
    import torch
    from dil_ros.contract import default_contract_path, load_contract
    from dil_ros.data.lerobot import write_dataset
    from dil_ros.policy.export import export_policy
    from dil_ros.training.config import config_dir, load_run_config
    from dil_ros.training.restore import load_run
    from dil_ros.training.trainer import TrainRequest, train
    torch.set_num_threads(args.threads)
    contract = load_contract(default_contract_path())
    args.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    episodes, failed, sides = [], 0, []
    for seed in range(args.episodes):
        ep, side = record_episode(seed, args.speed, contract)
        failed += ep is None
        if ep is not None:
            episodes.append(ep)
            sides.append(side)
    record_s = time.perf_counter() - t
    print(f'recorded {len(episodes)} expert episodes at {args.speed:g}x ({failed} failed, '
          f'{sides.count("inner")} inner), {sum(len(e) for e in episodes)} frames, '
          f'{record_s:.0f} s', flush=True)
    write_dataset(args.out / 'dataset', episodes, fps=contract.rate_hz, overwrite=True,
                  names={'observation.state': list(contract.action.joints),
                         'action': list(contract.action.joints)},
                  robot_type='dil_ros MuJoCo arm')
    t = time.perf_counter()
    train(TrainRequest(dataset=args.out / 'dataset', run_dir=args.out / 'diffusion',
                       config=load_run_config(config_dir() / 'train_demo_arm.yaml'),
                       contract=contract, kind='diffusion', steps=args.steps,
                       time_limit_s=args.time_limit_s))
    policy, meta = load_run(args.out / 'diffusion')
    path = export_policy(policy, args.out / 'policy.ts', meta)
    train_s = time.perf_counter() - t
    (args.out / 'fast.json').write_text(json.dumps(
        {'speed': args.speed, 'kept': len(episodes), 'failed': failed,
         'inner': sides.count('inner'), 'record_s': record_s, 'train_export_s': train_s},
        indent=1))
    print(f'exported {path} (train + export {train_s:.0f} s)', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
