"""Hand-over under inference delay over DDS: policy_node + sim_node, closed loop, round-robin.

The check that the node behaves as bench_handover.py's simulated-time cells say: policy_node
(forward_command, ``inference_delay_s`` sleeping in its inference thread, so the delay is wall
time) against sim_node at real time, through dil_ros.demo.evaluate, for each hand-over in turn
on the same unseen episodes, in rounds of ``--block`` episodes (so load drifts hit every mode).

    ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST .venv/bin/python bench/dds_handover.py \\
        --policy runs/handover/teacher.ts --delay 0.3 --episodes 15 --out runs/handover/dds
"""
import argparse
import json
import os
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_handover import SEED_BASE  # noqa: E402  the same unseen episodes as the simulated cells


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--policy', type=Path, default=Path('runs/demo/policy.ts'))
    parser.add_argument('--delay', type=float, default=0.3, help='inference_delay_s')
    parser.add_argument('--handovers', default='guided,none')
    parser.add_argument('--episodes', type=int, default=15, help='per hand-over')
    parser.add_argument('--block', type=int, default=5, help='episodes per round')
    parser.add_argument('--out', type=Path, default=Path('runs/handover/dds'))
    args = parser.parse_args(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    import rclpy
    from dil_ros.contract import default_contract_path
    from dil_ros.demo.evaluate import evaluate_policy
    handovers = [h for h in args.handovers.split(',') if h]
    totals = {h: {'episodes': 0, 'successes': 0, 'statuses': {}, 'latency_ms': []}
              for h in handovers}
    loads = [os.getloadavg()[0]]
    args.out.mkdir(parents=True, exist_ok=True)
    rclpy.init()
    try:
        for start in range(0, args.episodes, args.block):
            n = min(args.block, args.episodes - start)
            for h in handovers:
                r = evaluate_policy(f'{h}_{start}', args.policy, str(default_contract_path()), n,
                                    SEED_BASE + start, 1.0, args.out / 'logs',
                                    output_mode='forward_command',
                                    policy_params={'handover': h,
                                                   'inference_delay_s': args.delay})
                t = totals[h]
                t['episodes'] += r.episodes
                t['successes'] += r.successes
                for k, v in r.statuses.items():
                    t['statuses'][k] = t['statuses'].get(k, 0) + v
                t['latency_ms'] += list(r.latencies_ms)
                loads.append(os.getloadavg()[0])
                print(f'{h:9s} episodes {start}..{start + n - 1}: {r.successes}/{r.episodes} '
                      f'{r.statuses}; load {loads[-1]:.1f}', flush=True)
    finally:
        rclpy.try_shutdown()
    report = {'policy': str(args.policy), 'inference_delay_s': args.delay,
              'load_average': loads, 'cells': {}}
    for h, t in totals.items():
        lat = sorted(t.pop('latency_ms'))
        t['latency_p50_ms'] = lat[len(lat) // 2] if lat else None
        report['cells'][h] = t
        print(f'{h:9s} {t["successes"]}/{t["episodes"]} {t["statuses"]}, chunk latency p50 '
              f'{t["latency_p50_ms"]} ms', flush=True)
    print(f'load average {min(loads):.1f}..{max(loads):.1f}')
    (args.out / 'dds.json').write_text(json.dumps(report, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
