"""Each faster form is bound to the policy.ts it was made from, by sha256.

A form's ``dil_ros.json`` (inside its archive: policy.bf16.ts, policy.pt2, ...) records
``made_from``: the file name and sha256 of that policy.ts, and ``content_sha256``: the
``archive_sha256`` of the form's own code and weights. ``check_binding`` reads both as plain zip
data — nothing of the form is loaded, which matters for an AOTInductor package (native code) —
and refuses a form made from another policy.ts, or changed after export. policy.onnx keeps the
same ``dil_ros.json`` in its ONNX metadata_props and is read as protobuf data (onnx_export.py).
"""
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from dil_ros.accel.errors import AccelError
from dil_ros.policy.artifact import read_archive_metadata
from dil_ros.policy.digest import archive_sha256

BINDING_KEYS = ('made_from', 'content_sha256')


def bind(meta: Mapping[str, Any], policy_ts: Path, policy_sha256: str) -> Dict[str, Any]:
    """``meta`` (policy.ts's) for a form made from ``policy_ts``, whose digest is given."""
    out = {k: v for k, v in meta.items() if k not in BINDING_KEYS}
    out['made_from'] = {'file': Path(policy_ts).name, 'sha256': policy_sha256}
    return out


def check_binding(form_path: Path, policy_ts: Path, policy_sha256: str,
                  reader: Optional[Callable[[Path], Tuple[Dict[str, Any], str]]] = None
                  ) -> Dict[str, Any]:
    """The form's metadata, once it is shown to be made from ``policy_ts`` (digest given) and
    unchanged since export; else AccelError naming the form file and both digests.

    ``reader(form_path) -> (metadata, content sha256 as the file is now)`` reads a form that is
    not a zip archive (policy.onnx: onnx_export.read_onnx); default: the zip archive reading."""
    if reader is None:
        meta = read_archive_metadata(form_path, AccelError)
    else:
        meta, content = reader(form_path)
    made_from = meta.get('made_from')
    recorded = made_from.get('sha256') if isinstance(made_from, Mapping) else None
    if not recorded or not meta.get('content_sha256'):
        raise AccelError(f'{form_path}: records no sha256 of the policy.ts it was made from; '
                         f'export the forms again (dil-ros export --forms) from {policy_ts}')
    if reader is None:
        content = archive_sha256(form_path)
    if content != meta['content_sha256']:
        raise AccelError(f'{form_path}: content sha256 is {content}, but {meta["content_sha256"]}'
                         f' was recorded at export: the file was changed after export')
    if recorded != policy_sha256:
        raise AccelError(f'{form_path}: made from a policy.ts with sha256 {recorded}, but '
                         f'{policy_ts} has sha256 {policy_sha256}; export the forms again from '
                         f'this policy.ts')
    return meta
