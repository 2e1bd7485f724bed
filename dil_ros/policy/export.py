"""Write policy.ts: the scripted (and frozen) policy plus ``dil_ros.json`` metadata, atomically,
and policy.ts.sha256 beside it."""

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch
from torch import nn

import dil_ros
from dil_ros.atomic import atomic_file
from dil_ros.contract import Contract
from dil_ros.policy.artifact import EXTRA_FILE, FORMAT_VERSION, ArtifactError, validate_metadata
from dil_ros.policy.digest import archive_sha256, write_sha256_file
from dil_ros.policy.scripting import script


def diffusion_metadata(policy: nn.Module, contract: Contract, data_fingerprint: str,
                       **extra: Any) -> Dict[str, Any]:
    """Metadata for a DiffusionPolicy: contract, timeline, dims, policy config, fingerprint;
    with cameras also ``camera_metadata`` (the policy's input sizes; frames of any size are
    resized to them)."""
    config = policy.config
    meta = {
        'kind': 'diffusion',
        'contract': contract.to_mapping(),
        'n_obs_steps': config.n_obs_steps,
        'horizon': config.horizon,
        'n_action_steps': config.n_action_steps,
        'obs_dims': dict(policy.obs_dims),
        'action_dim': policy.action_dim,
        'num_inference_steps': config.num_inference_steps,
        'data_fingerprint': data_fingerprint,
        'policy_config': config.to_dict(),
    }
    meta.update(camera_metadata(policy))
    meta.update(extra)
    return meta


def camera_metadata(policy: nn.Module) -> Dict[str, Any]:
    """``image_shapes`` {key: [height, width, 3]}, ``cameras`` (with crop) and
    ``vision_config`` of a policy with cameras; {} for a state-only policy (its metadata stays as
    it was)."""
    cameras = getattr(policy, 'cameras', [])
    if not cameras:
        return {}
    return {'image_shapes': {c.key: [c.height, c.width, 3] for c in cameras},
            'cameras': {c.key: c.to_mapping() for c in cameras},
            'vision_config': policy.vision_config.to_dict()}


def script_policy(policy: nn.Module, freeze: bool = True) -> torch.jit.ScriptModule:
    """torch.jit.script in eval mode; ``freeze`` inlines weights and schedule as constants."""
    scripted = policy if isinstance(policy, torch.jit.ScriptModule) else script(policy)
    scripted = scripted.eval()
    if freeze:
        scripted = torch.jit.freeze(scripted)
    return scripted


def export_policy(policy: nn.Module, path: Union[str, Path], metadata: Mapping[str, Any],
                  freeze: bool = True, seal: bool = False) -> Path:
    """Script ``policy`` and write it with its metadata to ``path`` (temp file + os.replace),
    and its sha256 to ``path``.sha256 in ``sha256sum`` format.

    ``policy`` is any scriptable module with the call ``forward(obs: Dict[str, Tensor] [B, To, D]
    (cameras: uint8 [B, To, H, W, 3]), noise: Optional[Tensor]) -> Tensor [B, Tp, Da]`` (the
    diffusion policy, the MSE baseline).
    ``metadata`` must hold ``artifact.REQUIRED_KEYS`` except ``version``, which is filled in.
    ``seal`` (faster forms) also records the archive's own ``archive_sha256`` as metadata
    ``content_sha256``, so that a changed byte of code or weights is found at load.
    """
    path = Path(path)
    meta = dict(metadata)
    meta.setdefault('version', {'dil_ros': dil_ros.__version__, 'format': FORMAT_VERSION})
    meta = validate_metadata(meta, f'{path} (export)')
    text = _json(meta, path)
    was_training = policy.training
    try:
        scripted = script_policy(policy, freeze=freeze)
    finally:
        policy.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.jit.save(scripted, str(tmp), _extra_files={EXTRA_FILE: text})
        if seal:
            meta['content_sha256'] = archive_sha256(tmp)
            torch.jit.save(scripted, str(tmp), _extra_files={EXTRA_FILE: _json(meta, path)})
            check_sealed(tmp, meta['content_sha256'], path)
    write_sha256_file(path)
    return path


def check_sealed(written: Path, content_sha256: str, path: Path) -> None:
    """Saving the same module again must give the same ``archive_sha256`` (else cannot seal)."""
    if archive_sha256(written) != content_sha256:
        raise ArtifactError(f'{path} (export): two saves of the same module differ; cannot '
                            f'record its content_sha256 (torch {torch.__version__})')


def _json(meta: Mapping[str, Any], path: Path) -> str:
    try:
        return json.dumps(meta, indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f'{path} (export): metadata is not plain JSON data: {exc}') from None
