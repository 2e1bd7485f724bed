"""Phase 1: the scripted expert drives the MuJoCo sim while recorder_node stores one bag per episode."""
from pathlib import Path
from typing import Dict, List

from std_srvs.srv import Trigger
from tqdm import tqdm

from dil_ros.demo.harness import DemoError, Harness, overrides, reset_sim

# Wall-clock allowance per episode: the sim's time limit is a few sim seconds and the sim runs at
# least in real time, so this only trips when something is broken.
EPISODE_TIMEOUT_S = 60.0


def record_demonstrations(out_dir: Path, contract_path: str, episodes: int, seed: int,
                          real_time_factor: float) -> Dict[str, object]:
    """Record ``episodes`` expert episodes into ``out_dir`` (a recorder session folder)."""
    from dil_ros.nodes.expert_node import ExpertNode
    from dil_ros.nodes.recorder_node import RecorderNode
    from dil_ros.nodes.sim_node import SimNode

    harness = Harness()
    sim = SimNode(real_time_factor=real_time_factor, seed=seed, auto_reset=False)
    expert = ExpertNode(use_sim_time=True, seed=seed)
    recorder = RecorderNode(parameter_overrides=overrides(
        contract=str(contract_path), output_dir=str(out_dir), use_sim_time=True,
        task='reach the goal around the pillar', robot='dil_ros MuJoCo arm',
        operator='scripted expert'))
    harness.add(sim, expert, recorder)
    kept: List[int] = []
    failed: List[int] = []
    try:
        bar = tqdm(range(episodes), desc='record demonstrations', unit='ep')
        for _ in bar:
            info = reset_sim(harness)
            reply = harness.call(Trigger, '/recorder_node/start')
            if not reply.success:
                raise DemoError(f'recorder_node/start: {reply.message}')
            result = harness.wait_result(info['episode'], EPISODE_TIMEOUT_S)
            if result['success']:
                reply = harness.call(Trigger, '/recorder_node/stop')
                (kept if reply.success else failed).append(info['episode'])
                if not reply.success:
                    bar.write(f'episode {info["episode"]}: not kept: {reply.message}')
            else:
                harness.call(Trigger, '/recorder_node/discard')
                failed.append(info['episode'])
            bar.set_postfix(kept=len(kept), failed=len(failed))
        sides = list(expert.sides)
    finally:
        recorder.close()
        harness.close()
    return {'session': str(out_dir), 'kept': len(kept), 'failed': len(failed),
            'expert_success_rate': len(kept) / max(1, episodes),
            'sides': {s: sides.count(s) for s in sorted(set(sides))}}
