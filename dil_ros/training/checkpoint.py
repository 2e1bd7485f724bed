"""Atomic training checkpoints: everything a resume or an export needs, in one torch.save file.

RUN_DIR/checkpoints/latest.pt (and step_<N>.pt when asked) hold: kind ('diffusion' or
'regression'), step, model, EMA, optimizer, lr scheduler, RNG states, the run config, normaliser
stats, obs_dims/action_dim, the contract mapping, the dataset fingerprint and the loss history.
Only plain data and tensors go in, so loading uses ``torch.load(weights_only=True)``.
"""
import random
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import numpy as np
import torch

from dil_ros.atomic import atomic_file
from dil_ros.errors import DilRosError

FORMAT = 'dil_ros.checkpoint/1'
LATEST = 'latest.pt'


class CheckpointError(DilRosError, ValueError):
    """A run directory or checkpoint file is missing, unreadable or not ours; names the path."""


def checkpoint_dir(run_dir: Union[str, Path]) -> Path:
    return Path(run_dir) / 'checkpoints'


def latest_path(run_dir: Union[str, Path]) -> Path:
    return checkpoint_dir(run_dir) / LATEST


def save_atomic(state: Dict[str, Any], path: Union[str, Path]) -> Path:
    """torch.save to a temporary file next to ``path``, then os.replace (never half-written)."""
    with atomic_file(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """Load and sanity-check a checkpoint file; a run directory means its latest.pt."""
    path = Path(path)
    if path.is_dir():
        if not checkpoint_dir(path).is_dir():
            raise CheckpointError(f'{path}: not a training run directory (no checkpoints/ inside)')
        path = latest_path(path)
    if not path.exists():
        raise CheckpointError(f'{path}: checkpoint not found')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise CheckpointError(f'{path}: corrupt or unreadable checkpoint '
                              f'({type(exc).__name__}: {str(exc).splitlines()[0][:120]})'
                              ) from None
    if not isinstance(state, dict) or state.get('format') != FORMAT:
        raise CheckpointError(f'{path}: not a dil_ros checkpoint (format {FORMAT} expected)')
    for key in ('kind', 'step', 'model', 'config', 'stats', 'obs_dims', 'action_dim'):
        if key not in state:
            raise CheckpointError(f'{path}: checkpoint lacks {key!r}')
    return state


def rng_state() -> Dict[str, Any]:
    """Global RNG states (python, numpy, torch CPU and CUDA) as plain data."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    py = random.getstate()
    state = {'python': list(py[1]), 'python_version': py[0], 'python_gauss': py[2],
             'numpy': {'keys': torch.from_numpy(keys.astype(np.int64)), 'pos': int(pos),
                       'has_gauss': int(has_gauss), 'cached': float(cached)},
             'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate((state['python_version'], tuple(state['python']), state['python_gauss']))
    n = state['numpy']
    np.random.set_state(('MT19937', n['keys'].numpy().astype(np.uint32), n['pos'],
                         n['has_gauss'], n['cached']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def restore_training_state(state: Dict[str, Any], model, optimizer, lr_scheduler, ema=None,
                           scaler=None) -> Tuple[int, list]:
    """Load a checkpoint's model, optimizer, lr schedule, EMA and grad scaler (those given and
    saved) and its RNG states; returns (step, loss history) to resume from."""
    model.load_state_dict(state['model'])
    optimizer.load_state_dict(state['optimizer'])
    lr_scheduler.load_state_dict(state['lr_scheduler'])
    if ema is not None and state.get('ema'):
        ema.load_state_dict(state['ema'])
    if scaler is not None and state.get('scaler'):
        scaler.load_state_dict(state['scaler'])
    set_rng_state(state['rng'])
    return int(state['step']), list(state.get('history', []))


def plain_stats(stats) -> Dict[str, Dict[str, list]]:
    """Dataset stats {key: {name: array}} as nested lists of floats."""
    return {key: {name: np.asarray(v, dtype=np.float64).reshape(-1).tolist()
                  for name, v in entry.items()} for key, entry in stats.items()}
