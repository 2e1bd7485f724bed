"""Phase 1: the scripted expert drives the MuJoCo sim; recorder_node stores one bag per episode."""
from pathlib import Path
import time
from typing import Any, Dict, Mapping, Optional

from std_srvs.srv import Trigger
from tqdm import tqdm

from dil_ros.demo.harness import DemoError, Harness, reset_sim

# Wall-clock allowance per episode; the sim's limit is a few sim seconds, so this only trips when
# something is broken.
EPISODE_TIMEOUT_S = 60.0
SETTLE_S = 0.2  # let the expert see an episode end before the next reset


def record_demonstrations(session: Path, contract_path: str, episodes: int, seed: int,
                          real_time_factor: float, log_dir: Path,
                          sim_params: Optional[Mapping[str, Any]] = None) -> Dict[str, object]:
    """Record ``episodes`` expert episodes into ``session`` (a recorder session folder);
    ``sim_params``: more sim_node parameters (the vision variant's cameras)."""
    harness = Harness(log_dir)
    kept = failed = 0
    goals = []   # of the kept episodes (the vision report's mean-goal figure)
    try:
        harness.start('sim_node', real_time_factor=real_time_factor, seed=seed, auto_reset=False,
                      **(sim_params or {}))
        harness.start('expert_node', use_sim_time=True, seed=seed)
        harness.start('recorder_node', contract=str(contract_path), output_dir=str(session),
                      use_sim_time=True, task='reach the goal around the pillar',
                      robot='dil_ros MuJoCo arm', operator='scripted expert', num_threads=1)
        # The first episode starts only once every node is up (else it runs unrecorded).
        harness.wait_for_graph(services=['/sim_node/reset', '/recorder_node/start'],
                               publishers=['/arm_controller/commands'] + [
                                   f'/camera/{name}/image_raw'
                                   for name in (sim_params or {}).get('camera_names', [])])
        bar = tqdm(range(episodes), desc='record demonstrations', unit='ep')
        for _ in bar:
            info = reset_sim(harness)
            reply = harness.call(Trigger, '/recorder_node/start', timeout=60.0)
            if not reply.success:
                raise DemoError(f'/recorder_node/start: {reply.message}')
            result = harness.wait_result(info['episode'], EPISODE_TIMEOUT_S)
            if result['success']:
                reply = harness.call(Trigger, '/recorder_node/stop')
                kept += reply.success
                if reply.success:
                    goals.append(info['goal'])
                else:
                    bar.write(f'episode {info["episode"]}: not kept: {reply.message}')
            else:
                harness.call(Trigger, '/recorder_node/discard')
                failed += 1
            bar.set_postfix(kept=kept, failed=failed)
            time.sleep(SETTLE_S)
    finally:
        harness.close()
    return {'session': str(session), 'kept': kept, 'failed': failed,
            'expert_success_rate': kept / max(1, kept + failed), 'goals': goals}
