"""``policy.monitor.ts`` (the scorer) and ``policy.monitor.json`` (its thresholds), next to
policy.ts and bound to it by sha256.

policy.ts is frozen TorchScript: only ``forward`` survives freezing, and its call must not
change. The scorer is therefore a scripted sibling made from the same eager policy (the run's
checkpoint), like the faster forms (accel/binding.py): its ``dil_ros.json`` records ``made_from``
(policy.ts's name and sha256) and ``content_sha256``; it is refused when either differs.
``policy.monitor.json`` records the thresholds, the calibration's alpha and source, and the sha256
of both policy.ts and policy.monitor.ts, so thresholds are never applied to other scores.
"""
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from dil_ros.atomic import atomic_file
from dil_ros.errors import DilRosError
from dil_ros.monitor.scores import (CAMERA_NOVELTY, DEFAULT_DRAWS, DEFAULT_LEVELS,
                                    MonitorModule, SCORE_NAMES)

CONSISTENCY = 'consistency'
ALL_SCORES = SCORE_NAMES + (CONSISTENCY, CAMERA_NOVELTY)


class MonitorError(DilRosError, ValueError):
    """A monitor file is missing, stale (made from another policy.ts) or malformed."""


def monitor_path(policy_ts: Union[str, Path]) -> Path:
    return Path(policy_ts).with_suffix('.monitor.ts')


def thresholds_path(policy_ts: Union[str, Path]) -> Path:
    return Path(policy_ts).with_suffix('.monitor.json')


def action_scale(policy: nn.Module) -> list:
    """The normaliser's per-joint action scale (normalised = physical * scale + offset)."""
    return policy.normalizer.params['action'].scale.detach().cpu().flatten().tolist()


def export_monitor(policy: nn.Module, policy_ts: Union[str, Path],
                   train_obs: Optional[np.ndarray] = None,
                   levels: Sequence[float] = DEFAULT_LEVELS, draws: int = DEFAULT_DRAWS,
                   check_parity: bool = True, train_camera: Optional[np.ndarray] = None
                   ) -> Path:
    """Write policy.monitor.ts for the eager ``policy`` that policy.ts was exported from.

    ``check_parity``: the eager policy must give policy.ts's actions on the same noise (else the
    checkpoint is not the one policy.ts came from; MonitorError naming both files).
    """
    from dil_ros.accel.binding import bind
    from dil_ros.accel.forms import random_obs
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.export import export_policy

    policy_ts = Path(policy_ts)
    reference = load_artifact(policy_ts)
    if reference.meta['kind'] != 'diffusion':
        raise MonitorError(f'{policy_ts}: the monitor scores diffusion policies; this is a '
                           f'{reference.meta["kind"]} policy')
    policy = policy.cpu().eval()
    if check_parity:
        gen = torch.Generator().manual_seed(0)
        obs = random_obs(reference.meta, 2, gen, torch.device('cpu'))
        noise = torch.randn(2, reference.horizon, reference.action_dim, generator=gen)
        with torch.no_grad():
            err = float((policy(obs, noise) - reference.module(obs, noise)).abs().max())
        if not err <= 1e-3:
            raise MonitorError(f'{policy_ts}: the run\'s weights give other actions than this '
                               f'policy.ts (max abs difference {err:.3g}); export it again from '
                               f'the run, or point at the policy.ts made from it')
    module = MonitorModule(policy, train_obs, levels, draws,
                           train_camera=train_camera).eval()
    meta = bind(reference.meta, policy_ts, reference.sha256)
    meta = {k: v for k, v in meta.items() if k != 'version'}
    meta['monitor'] = {'scores': module.score_names(), 'levels': module.levels, 'draws': draws,
                       'train_frames': int(module.train_obs.shape[0]),
                       'action_scale': action_scale(policy)}
    target = monitor_path(policy_ts)
    export_policy(module, target, meta, seal=True)
    target.with_name(target.name + '.sha256').unlink(missing_ok=True)
    return target


def load_monitor(policy_ts: Union[str, Path], device: str = 'cpu',
                 policy_sha256: Optional[str] = None):
    """(scripted scorer, its metadata) once it is shown to be made from ``policy_ts``."""
    from dil_ros.accel.binding import check_binding
    from dil_ros.accel.errors import AccelError
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.digest import file_sha256

    policy_ts = Path(policy_ts)
    source = monitor_path(policy_ts)
    if not source.is_file():
        raise MonitorError(f'{source}: no monitor for {policy_ts}; make it with `dil-ros '
                           f'calibrate RUN`')
    digest = policy_sha256 or file_sha256(policy_ts)
    try:
        check_binding(source, policy_ts, digest)
    except AccelError as exc:
        raise MonitorError(str(exc)) from None
    artifact = load_artifact(source, device=device)
    if 'monitor' not in artifact.meta:
        raise MonitorError(f'{source}: no monitor section in its dil_ros.json')
    return artifact.module, artifact.meta


def write_thresholds(policy_ts: Union[str, Path], thresholds: Mapping[str, float],
                     calibration: Mapping[str, Any], bands: Optional[Mapping[str, Any]] = None
                     ) -> Path:
    """``bands`` ({score: monitor.band.Band}): time-varying thresholds, applied instead of the
    constant ones."""
    from dil_ros.policy.digest import file_sha256
    policy_ts = Path(policy_ts)
    data = {'made_from': {'file': policy_ts.name, 'sha256': file_sha256(policy_ts)},
            'monitor_sha256': file_sha256(monitor_path(policy_ts)),
            'thresholds': {k: float(v) for k, v in thresholds.items()},
            'calibration': dict(calibration)}
    if bands:
        data['bands'] = {k: b.to_json() for k, b in bands.items()}
    out = thresholds_path(policy_ts)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')
    return out


def read_thresholds(policy_ts: Union[str, Path],
                    policy_sha256: Optional[str] = None) -> Dict[str, Any]:
    """policy.monitor.json, checked against the sha256 of policy.ts and policy.monitor.ts."""
    from dil_ros.policy.digest import file_sha256
    policy_ts = Path(policy_ts)
    path = thresholds_path(policy_ts)
    if not path.is_file():
        raise MonitorError(f'{path}: no thresholds; calibrate with `dil-ros calibrate RUN '
                           f'--episodes DIR`')
    try:
        data = json.loads(path.read_text())
        made_from, recorded, values = (data['made_from']['sha256'], data['monitor_sha256'],
                                       data['thresholds'])
    except (ValueError, KeyError, TypeError) as exc:
        raise MonitorError(f'{path}: not a thresholds file ({type(exc).__name__}: {exc})') \
            from None
    digest = policy_sha256 or file_sha256(policy_ts)
    if made_from != digest:
        raise MonitorError(f'{path}: calibrated for a policy.ts with sha256 {made_from}, but '
                           f'{policy_ts} has {digest}; calibrate again')
    if recorded != file_sha256(monitor_path(policy_ts)):
        raise MonitorError(f'{path}: calibrated with another {monitor_path(policy_ts).name}; '
                           f'calibrate again')
    unknown = sorted(set(values) - set(ALL_SCORES))
    if unknown:
        raise MonitorError(f'{path}: thresholds: unknown scores {unknown} (known: {ALL_SCORES})')
    if 'bands' in data:   # time-varying thresholds: parsed here so a bad file is refused early
        from dil_ros.monitor.band import Band
        from dil_ros.monitor.conformal import CalibrationError
        try:
            bands = data['bands'].items()
            unknown = sorted(set(data['bands']) - set(values))
            if unknown:
                raise CalibrationError(f'{path}: bands: scores {unknown} have no threshold')
            data['bands'] = {k: Band.from_json(v, f'{path}: bands: {k}') for k, v in bands}
        except (CalibrationError, AttributeError) as exc:
            raise MonitorError(str(exc) if isinstance(exc, CalibrationError) else
                               f'{path}: bands: not a mapping') from None
    return data
