"""Load policy.ts: one TorchScript file plus its ``dil_ros.json`` metadata, with torch alone.

This module is what the policy node imports; it must stay free of diffusers, training code and
config files (test/policy/test_export.py checks that in a fresh interpreter).
"""

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import torch

from dil_ros.contract import Contract, ContractError, contract_from_mapping
from dil_ros.errors import DilRosError

EXTRA_FILE = 'dil_ros.json'
FORMAT_VERSION = 1
KINDS = ('diffusion', 'regression')
REQUIRED_KEYS = ('kind', 'contract', 'n_obs_steps', 'horizon', 'n_action_steps', 'obs_dims',
                 'action_dim', 'num_inference_steps', 'version', 'data_fingerprint')


class ArtifactError(DilRosError, ValueError):
    """policy.ts is missing, corrupt, incomplete, or was trained for another robot contract."""


def normalize_sha256(value: str, what: str) -> str:
    """'<64 hex>' (or 'sha256:<64 hex>', any case) -> lower-case hex; else ArtifactError."""
    text = str(value).strip().lower()
    text = text[len('sha256:'):] if text.startswith('sha256:') else text
    if not re.fullmatch(r'[0-9a-f]{64}', text):
        raise ArtifactError(f'{what}: expected a sha256 (64 hex digits, as sha256sum prints), '
                            f'got {value!r}')
    return text


def read_archive_metadata(path: Union[str, Path], error=ArtifactError) -> Dict[str, Any]:
    """The ``dil_ros.json`` inside a TorchScript or .pt2 archive, read as plain zip data (no
    code or weights are loaded); failures raise ``error`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f'{path}: file not found')
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist()
                         if n == f'extra/{EXTRA_FILE}' or n.endswith(f'/extra/{EXTRA_FILE}')),
                        None)
            if name is None:
                raise error(f'{path}: no {EXTRA_FILE} inside; not exported by dil_ros')
            meta = json.loads(archive.read(name))
    except DilRosError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, OS and JSON errors of many kinds
        raise error(f'{path}: not a readable archive: {exc}') from None
    if not isinstance(meta, dict):
        raise error(f'{path}: {EXTRA_FILE}: expected a JSON object, got {type(meta).__name__}')
    return meta


def validate_metadata(meta: Any, source: str) -> Dict[str, Any]:
    """Check the keys every artifact carries; errors name ``source`` and the key."""
    if not isinstance(meta, Mapping):
        raise ArtifactError(f'{source}: {EXTRA_FILE}: expected a JSON object, '
                            f'got {type(meta).__name__}')
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: missing metadata keys: {", ".join(missing)}')
    if meta['kind'] not in KINDS:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: kind: must be one of {KINDS}, '
                            f'got {meta["kind"]!r}')
    version = meta['version']
    if not isinstance(version, Mapping) or 'format' not in version or 'dil_ros' not in version:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: version: expected '
                            f"{{'dil_ros': ..., 'format': ...}}, got {version!r}")
    if not isinstance(version['format'], int) or version['format'] > FORMAT_VERSION:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: version.format: {version["format"]!r} is '
                            f'not supported by this dil_ros (reads format <= {FORMAT_VERSION})')
    try:
        contract = contract_from_mapping(meta['contract'], f'{source}: {EXTRA_FILE}: contract')
    except ContractError as exc:
        raise ArtifactError(str(exc)) from None
    for key in ('n_obs_steps', 'horizon', 'n_action_steps'):
        if meta[key] != getattr(contract, key):
            raise ArtifactError(f'{source}: {EXTRA_FILE}: {key}: {meta[key]!r} but the embedded '
                                f'contract says {getattr(contract, key)!r}')
    if not isinstance(meta['obs_dims'], Mapping):
        raise ArtifactError(f'{source}: {EXTRA_FILE}: obs_dims: expected a mapping, '
                            f'got {meta["obs_dims"]!r}')
    if dict(meta['obs_dims']) != contract.obs_dims or meta['action_dim'] != contract.action_dim:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: obs_dims/action_dim '
                            f'{dict(meta["obs_dims"])}/{meta["action_dim"]} do not match the '
                            f'embedded contract ({contract.obs_dims}/{contract.action_dim})')
    shapes = {k: list(v) for k, v in contract.image_shapes.items()}
    if meta.get('image_shapes', {}) != shapes:
        raise ArtifactError(f'{source}: {EXTRA_FILE}: image_shapes {meta.get("image_shapes")} '
                            f'do not match the embedded contract\'s cameras ({shapes})')
    return dict(meta)


def check_contract(meta: Mapping[str, Any], contract: Union[Contract, Mapping]) -> List[str]:
    """What the policy depends on that differs between its embedded contract and the robot's.

    Empty when the policy can run on ``contract`` (see ``Contract.differences``: limits, topics,
    teleop and controller are the robot's own and may differ). Lines name both sides:
    ``rate_hz: policy 10.0, robot 20.0``.
    """
    policy = contract_from_mapping(meta['contract'], f'{EXTRA_FILE}: contract')
    robot = contract if isinstance(contract, Contract) else contract_from_mapping(contract)
    return policy.differences(robot)


def require_contract(meta: Mapping[str, Any], contract: Union[Contract, Mapping],
                     source: Union[str, Path]) -> None:
    """Raise ArtifactError naming ``source`` and listing every difference (``check_contract``)."""
    diffs = check_contract(meta, contract)
    if diffs:
        name = getattr(contract, 'source', None) or 'the robot contract'
        raise ArtifactError(f'{source}: trained for another contract than {name}:\n  '
                            + '\n  '.join(diffs))


@dataclass
class Artifact:
    """A loaded policy: ``module(obs, noise)`` plus its metadata and the file's sha256."""

    module: torch.jit.ScriptModule
    meta: Dict[str, Any]
    path: Path
    device: str = 'cpu'
    sha256: str = ''

    @property
    def obs_dims(self) -> Dict[str, int]:
        return dict(self.meta['obs_dims'])

    @property
    def image_shapes(self) -> Dict[str, List[int]]:
        """Each camera's policy input size [height, width, 3] (frames of any size are resized)."""
        return {k: list(v) for k, v in self.meta.get('image_shapes', {}).items()}

    @property
    def action_dim(self) -> int:
        return int(self.meta['action_dim'])

    @property
    def n_obs_steps(self) -> int:
        return int(self.meta['n_obs_steps'])

    @property
    def horizon(self) -> int:
        return int(self.meta['horizon'])

    @property
    def n_action_steps(self) -> int:
        return int(self.meta['n_action_steps'])

    def require_contract(self, contract: Union[Contract, Mapping]) -> None:
        """Raise ArtifactError listing every difference (``check_contract``)."""
        require_contract(self.meta, contract, self.path)

    def predict(self, obs: Mapping[str, np.ndarray],
                noise: Optional[Union[np.ndarray, torch.Tensor]] = None) -> np.ndarray:
        """One chunk for one robot: obs {key: [To, D]} (cameras: uint8 [To, H, W, 3] at any
        size) -> actions [Tp, Da] (physical units)."""
        batch: Dict[str, torch.Tensor] = {}
        for key, dim in self.obs_dims.items():
            if key not in obs:
                raise ArtifactError(f'{self.path}: observation {key!r} missing '
                                    f'(given: {sorted(obs)})')
            x = np.asarray(obs[key], dtype=np.float32)
            if x.shape != (self.n_obs_steps, dim):
                raise ArtifactError(f'{self.path}: observation {key!r}: expected shape '
                                    f'({self.n_obs_steps}, {dim}), got {x.shape}')
            if not np.isfinite(x).all():
                raise ArtifactError(f'{self.path}: observation {key!r} holds NaN or inf')
            batch[key] = torch.from_numpy(x)[None].to(self.device)
        for key in self.image_shapes:
            if key not in obs:
                raise ArtifactError(f'{self.path}: camera {key!r} missing (given: {sorted(obs)})')
            frames = np.asarray(obs[key])
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != \
                    self.n_obs_steps or frames.shape[-1] != 3:
                raise ArtifactError(f'{self.path}: camera {key!r}: expected uint8 frames '
                                    f'({self.n_obs_steps}, H, W, 3), got {frames.dtype} '
                                    f'{frames.shape}')
            batch[key] = torch.from_numpy(np.ascontiguousarray(frames))[None].to(self.device)
        noise_t: Optional[torch.Tensor] = None
        if noise is not None:
            noise_t = torch.as_tensor(noise, dtype=torch.float32)
            if tuple(noise_t.shape) != (self.horizon, self.action_dim):
                raise ArtifactError(f'{self.path}: noise: expected shape '
                                    f'({self.horizon}, {self.action_dim}), '
                                    f'got {tuple(noise_t.shape)}')
            noise_t = noise_t[None].to(self.device)
        with torch.inference_mode():
            actions = self.module(batch, noise_t)
        return actions[0].cpu().numpy()

    __call__ = predict


def load_artifact(path: Union[str, Path], device: str = 'cpu',
                  sha256: Optional[str] = None) -> Artifact:
    """Load policy.ts; every failure is an ArtifactError naming the file and what is wrong.

    ``sha256`` (hex, e.g. from policy.ts.sha256) pins the file: bytes with another digest are
    refused before TorchScript reads them. The bytes are read once, so the file checked is the
    file loaded.
    """
    path = Path(path)
    expected = normalize_sha256(sha256, f'{path}: expected sha256') if sha256 else None
    if not path.is_file():
        raise ArtifactError(f'{path}: policy file not found')
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        raise ArtifactError(f'{path}: sha256 is {digest}, expected {expected}; refusing a '
                            f'policy.ts other than the pinned one')
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ArtifactError(f'{path}: not a TorchScript archive (no zip directory; the file is '
                            f'truncated or not a policy.ts)')
    extra = {EXTRA_FILE: ''}
    try:
        module = torch.jit.load(io.BytesIO(data), map_location=device, _extra_files=extra)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f'{path}: TorchScript load failed (corrupt file?): {first}') \
            from None
    raw = extra[EXTRA_FILE]
    if not raw:
        raise ArtifactError(f'{path}: no {EXTRA_FILE} inside; not exported by dil_ros '
                            '(use dil_ros.policy.export.export_policy)')
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f'{path}: {EXTRA_FILE} is not valid JSON: {exc}') from None
    meta = validate_metadata(meta, str(path))
    module.eval()
    return Artifact(module=module, meta=meta, path=path, device=str(device), sha256=digest)
