"""Re-create a trained policy (EMA weights by default) and its export metadata from a run."""
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
from torch import nn

import dil_ros
from dil_ros.contract import contract_from_mapping
from dil_ros.policy.export import camera_metadata
from dil_ros.training.builder import build_policy, camera_specs
from dil_ros.training.checkpoint import CheckpointError, latest_path, load_checkpoint
from dil_ros.training.config import run_config_from_mapping


def policy_from_checkpoint(state: Dict[str, Any], ema: bool = True,
                           num_inference_steps: Optional[int] = None,
                           source: str = '<checkpoint>') -> nn.Module:
    """The checkpoint's policy in eval mode on the CPU (EMA weights when ``ema`` and present)."""
    config = run_config_from_mapping(state['config'], f'{source}: config')
    pcfg = config.policy
    if num_inference_steps is not None:
        data = {**pcfg.to_dict(), 'num_inference_steps': int(num_inference_steps)}
        pcfg = type(pcfg).from_dict(data, '--num-inference-steps')
    contract = contract_from_mapping(state['contract'], f'{source}: contract')
    policy = build_policy(state['kind'], pcfg, config.regression, state['obs_dims'],
                          state['action_dim'], state['stats'], camera_specs(contract),
                          config.vision)
    if ema and state.get('ema'):
        weights = state['ema']['model']
    elif ema and state['kind'] == 'diffusion' and config.ema.enabled:
        raise CheckpointError(f'{source}: no EMA weights in the checkpoint')
    else:
        weights = state['model']
    try:
        policy.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f'{source}: weights do not fit the configured policy: '
                              f'{str(exc).splitlines()[0]}') from None
    return policy.eval()


def export_metadata(state: Dict[str, Any], policy: nn.Module, ema: bool,
                    source: str = '<checkpoint>') -> Dict[str, Any]:
    """Everything export_policy needs to embed, from the checkpoint's facts."""
    contract = contract_from_mapping(state['contract'], f'{source}: contract')
    config = run_config_from_mapping(state['config'], f'{source}: config')
    pcfg = getattr(policy, 'config', config.policy)
    return {
        **camera_metadata(policy),
        'kind': state['kind'],
        'contract': contract.to_mapping(),
        'n_obs_steps': contract.n_obs_steps,
        'horizon': contract.horizon,
        'n_action_steps': contract.n_action_steps,
        'obs_dims': dict(state['obs_dims']),
        'action_dim': int(state['action_dim']),
        'num_inference_steps': pcfg.num_inference_steps if state['kind'] == 'diffusion' else 0,
        'data_fingerprint': state['dataset_fingerprint'],
        'fingerprint': state['dataset_fingerprint'],
        'version': {'dil_ros': dil_ros.__version__, 'format': 1},
        'policy_config': pcfg.to_dict(),
        'train_config': config.to_dict(),
        'train_step': int(state['step']),
        'ema': bool(ema and state.get('ema')),
        'torch_version': torch.__version__,
    }


def load_run(run_dir: Union[str, Path], ema: bool = True,
             num_inference_steps: Optional[int] = None) -> Tuple[nn.Module, Dict[str, Any]]:
    """(policy, metadata) of a run directory's latest checkpoint."""
    source = str(latest_path(run_dir))
    state = load_checkpoint(run_dir)
    policy = policy_from_checkpoint(state, ema, num_inference_steps, source)
    return policy, export_metadata(state, policy, ema, source)
