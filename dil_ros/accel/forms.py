"""One call for the policy node: ``load_policy_form(path, form, device)`` -> a callable policy.

Forms (all numerically checked against policy.ts on the same noise, see parity.py):

===========  ==========================================  =========================================
form         file read                                   where
===========  ==========================================  =========================================
torchscript  policy.ts                                   CPU or GPU
cuda_graph   policy.ts, captured once at load            GPU; on a CPU falls back to torchscript
fp16, bf16   policy.fp16.ts / policy.bf16.ts (sibling)   GPU (bf16 also runs on CPUs)
aot          policy.pt2 (sibling, or the .pt2 given)     the device type it was compiled for
onnx         policy.onnx (sibling), onnxruntime          CPU; CUDA/TensorRT (fp16) with
                                                         onnxruntime-gpu (onnx_runtime.py)
openvino     policy.onnx (sibling), OpenVINO (optional)  CPU; bf16 where the CPU has bf16 units
                                                         (AMX, AVX512-BF16), else fp32
===========  ==========================================  =========================================

The sibling files are written next to policy.ts by ``export_forms`` from the eager policy
(policy.ts is frozen TorchScript: its weights cannot be recast or re-exported). Each records the
sha256 of that policy.ts and of its own content; a sibling that does not match is refused before
anything in it is loaded (binding.py).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Union

import torch
from torch import nn

from dil_ros.accel.aot import AotPolicy, export_aot, load_aot
from dil_ros.accel.binding import bind, check_binding
from dil_ros.accel.cuda_graph import CudaGraphPolicy
from dil_ros.accel.device import resolve_device
from dil_ros.accel.errors import AccelError
from dil_ros.accel.parity import TOLERANCE, action_range, max_abs_error
from dil_ros.accel.precision import reduced_precision_policy
from dil_ros.contract import Contract
from dil_ros.policy.digest import file_sha256

FORMS = ('torchscript', 'cuda_graph', 'fp16', 'bf16', 'aot', 'onnx', 'openvino')


@dataclass
class PolicyForm:
    """``form(obs {key: [B, To, D]}, noise [B, Tp, Da] or None) -> actions [B, Tp, Da]``.

    Inputs may be on any device (moved to ``device``); actions are float32 on ``device`` in
    physical units. ``message`` says which device/form was chosen and why (log it once);
    ``meta`` is the metadata of the file that runs (``path``), ``policy_sha256`` the sha256 of the
    policy.ts it is (or is bound to).
    """

    form: str
    device: torch.device
    meta: Dict[str, Any]
    path: Path
    fn: Callable[..., torch.Tensor]
    message: str = ''
    policy_sha256: str = ''
    extra: Dict[str, Any] = field(default_factory=dict)

    def __call__(self, obs: Mapping[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        obs = {k: v.to(self.device, non_blocking=True) for k, v in obs.items()}
        if noise is not None:
            noise = noise.to(self.device, non_blocking=True)
        with torch.no_grad():
            return self.fn(obs, noise).float()


def sibling_path(path: Union[str, Path], form: str) -> Path:
    """Where ``export_forms`` puts ``form`` next to policy.ts (policy.bf16.ts, policy.pt2)."""
    path = Path(path)
    if form == 'aot':
        return path.with_suffix('.pt2')
    if form in ('onnx', 'openvino'):
        return path.with_suffix('.onnx')
    if form in ('fp16', 'bf16'):
        return path.with_suffix(f'.{form}.ts')
    return path


def example_obs(meta: Mapping[str, Any], batch_size: int,
                device: torch.device) -> Dict[str, torch.Tensor]:
    """Zero observations of the artifact's shapes (for capture and compilation); cameras as
    uint8 frames at the policy's input size."""
    steps = int(meta['n_obs_steps'])
    obs = {k: torch.zeros(batch_size, steps, int(d), device=device)
           for k, d in meta['obs_dims'].items()}
    for key, shape in meta.get('image_shapes', {}).items():
        obs[key] = torch.zeros(batch_size, steps, *shape, dtype=torch.uint8, device=device)
    return obs


def random_obs(meta: Mapping[str, Any], batch_size: int, generator: torch.Generator,
               device: torch.device) -> Dict[str, torch.Tensor]:
    """Observations in [-1, 1] and random uint8 frames, of the artifact's shapes (parity)."""
    steps = int(meta['n_obs_steps'])
    obs = {k: (torch.rand(batch_size, steps, int(d), generator=generator) * 2 - 1).to(device)
           for k, d in meta['obs_dims'].items()}
    for key, shape in meta.get('image_shapes', {}).items():
        obs[key] = torch.randint(0, 256, (batch_size, steps, *shape), generator=generator,
                                 dtype=torch.uint8).to(device)
    return obs


def load_policy_form(path: Union[str, Path], form: str = 'torchscript', device: str = 'auto',
                     batch_size: int = 1, contract: Optional[Contract] = None,
                     policy_sha256: Optional[str] = None) -> PolicyForm:
    """Load policy.ts (or the form's sibling file) as ``form`` on ``device``.

    ``device``: 'auto' | 'cpu' | 'cuda' | 'cuda:N' (CUDA falls back to the CPU when unavailable).
    ``batch_size`` fixes the batch of the cuda_graph form (aot: the batch it was compiled for).
    A sibling form is loaded only after ``binding.check_binding`` showed it was made from this
    policy.ts and is unchanged, and (given ``contract``) after the contract inside the form itself
    matched; ``policy_sha256`` pins policy.ts. Errors are AccelError/ArtifactError naming the file
    and what is wrong.
    """
    from dil_ros.policy.artifact import (
        load_artifact, normalize_sha256, require_contract, validate_metadata)

    if form not in FORMS:
        raise AccelError(f'form: expected one of {", ".join(FORMS)}, got {form!r}')
    dev, message = resolve_device(device)
    path = Path(path)
    if (form == 'aot' and path.suffix == '.pt2') or (form in ('onnx', 'openvino') and path.suffix == '.onnx'):
        path = path.with_suffix('.ts')   # the policy.ts it sits beside
    if form == 'cuda_graph' and dev.type != 'cuda':
        form, message = 'torchscript', message + '; form cuda_graph needs CUDA: using torchscript'
    if form in ('torchscript', 'cuda_graph'):
        artifact = load_artifact(path, device=str(dev), sha256=policy_sha256)
        if contract is not None:
            artifact.require_contract(contract)
        fn: Callable[..., torch.Tensor] = artifact.module
        if form == 'cuda_graph':
            fn = CudaGraphPolicy(artifact.module, example_obs(artifact.meta, batch_size, dev),
                                 batch_size, device=dev)
        return PolicyForm(form, dev, artifact.meta, path, fn, message, artifact.sha256)

    source = sibling_path(path, form)
    if not source.is_file():
        what = {'aot': 'AOTInductor package'}.get(form, f'{form} form')
        raise AccelError(f'{source}: no {what} of {path}; build it with `dil-ros export RUN '
                         f'--forms {form}` or dil_ros.accel.forms.export_forms')
    if not path.is_file():
        raise AccelError(f'{path}: policy file not found (the {form} form {source.name} is bound '
                         f'to it)')
    digest = file_sha256(path)
    if policy_sha256 and digest != normalize_sha256(policy_sha256, f'{path}: expected sha256'):
        raise AccelError(f'{path}: sha256 is {digest}, expected {policy_sha256}')
    reader = None
    if form in ('onnx', 'openvino'):
        from dil_ros.accel.onnx_export import read_onnx
        reader = read_onnx
    meta = validate_metadata(check_binding(source, path, digest, reader), str(source))
    if contract is not None:
        require_contract(meta, contract, source)   # the metadata of the form that runs
    if form == 'aot':
        runner, meta = load_aot(source, dev)
        return PolicyForm(form, dev, meta, source, AotPolicy(runner, meta, dev, str(source)),
                          message, digest)
    if form == 'onnx':
        from dil_ros.accel.onnx_runtime import load_onnx
        runner, providers = load_onnx(source, dev, meta)
        return PolicyForm(form, dev, meta, source, runner, f'{message}; {providers}', digest)
    if form == 'openvino':
        from dil_ros.accel.openvino_runtime import load_openvino
        if dev.type != 'cpu':
            message += f'; form openvino runs on the CPU, not {dev}'
            dev = torch.device('cpu')
        runner = load_openvino(source, meta, precision='auto')
        return PolicyForm(form, dev, meta, source, runner, f'{message}; {runner.precision_note}',
                          digest)
    artifact = load_artifact(source, device=str(dev))
    return PolicyForm(form, dev, artifact.meta, source, artifact.module, message, digest)


def build_form(policy: nn.Module, form: str, device: torch.device,
               obs: Dict[str, torch.Tensor], noise: torch.Tensor,
               workdir: Optional[Path] = None) -> Callable[..., torch.Tensor]:
    """An in-memory ``form`` of an eager DiffusionPolicy (for benchmarks; aot needs workdir)."""
    from dil_ros.policy.export import script_policy

    policy = policy.to(device).eval()
    if form == 'torchscript':
        return script_policy(policy)
    if form == 'cuda_graph':
        return CudaGraphPolicy(script_policy(policy), obs, int(noise.shape[0]), device=device)
    if form in ('fp16', 'bf16'):
        return script_policy(reduced_precision_policy(policy, form))
    if form in ONNX_VARIANTS:
        return _build_onnx(policy, form, device, obs, noise, workdir)
    if form == 'aot':
        if workdir is None:
            raise AccelError('build_form aot: needs a workdir for the .pt2 package')
        pt2 = export_aot(policy, Path(workdir) / f'policy_{device.type}.pt2', _bench_meta(policy),
                         obs, noise)
        runner, meta = load_aot(pt2, device)
        return AotPolicy(runner, meta, device, str(pt2))
    raise AccelError(f'form: expected one of {", ".join(FORMS)}, got {form!r}')


# Benchmark candidates of the onnx form (docs/benchmarks.md, a), each the keyword arguments of
# load_onnx or load_openvino on the same policy.onnx: onnxruntime at each graph optimisation level
# and without pool spinning; OpenVINO in each precision and with its thread pinned (its default
# before issue 14's measurements). Forms onnx and openvino are the loaders' defaults.
ONNX_VARIANTS = {'onnx': {}, 'onnx_extended': {'level': 'extended'},
                 'onnx_basic': {'level': 'basic'}, 'onnx_noopt': {'level': 'disable'},
                 'onnx_nospin': {'spinning': False}, 'onnx_wrapper': {},
                 'openvino': {}, 'openvino_pinned': {'pinning': True},
                 'openvino_f32': {'precision': 'f32'}, 'openvino_bf16': {'precision': 'bf16'},
                 'openvino_f16': {'precision': 'f16'}}


def _build_onnx(policy: nn.Module, form: str, device: torch.device,
                obs: Dict[str, torch.Tensor], noise: torch.Tensor,
                workdir: Optional[Path]) -> Callable[..., torch.Tensor]:
    """policy.onnx of ``policy`` in ``workdir`` (written once per workdir), run as ``form``."""
    from dil_ros.accel.onnx_export import export_onnx, read_onnx
    from dil_ros.accel.onnx_runtime import load_onnx

    if workdir is None:
        raise AccelError(f'build_form {form}: needs a workdir for policy.onnx')
    if form == 'onnx_wrapper':
        from dil_ros.accel.onnx_wrapper import OnnxWrapperPolicy
        Path(workdir).mkdir(parents=True, exist_ok=True)
        wrapped = OnnxWrapperPolicy(policy, obs, noise, Path(workdir))
        policy.to(device)
        return wrapped
    path = Path(workdir) / f'policy_b{int(noise.shape[0])}.onnx'
    if not path.is_file():
        export_onnx(policy, path, _bench_meta(policy), obs, noise)
        policy.to(device)
    meta, _ = read_onnx(path)
    if form.startswith('openvino'):
        from dil_ros.accel.openvino_runtime import load_openvino
        return load_openvino(path, meta, **ONNX_VARIANTS[form])
    return load_onnx(path, device, meta, **ONNX_VARIANTS[form])[0]


def _bench_meta(policy: nn.Module) -> Dict[str, Any]:
    from dil_ros.policy.export import camera_metadata
    return {'kind': 'diffusion', 'obs_dims': dict(policy.obs_dims),
            'action_dim': policy.action_dim, 'policy_config': policy.config.to_dict(),
            **camera_metadata(policy)}


def export_forms(policy: nn.Module, ts_path: Union[str, Path], forms: Iterable[str],
                 device: str = 'auto', batch_size: int = 1) -> Dict[str, Dict[str, Any]]:
    """Write the sibling files of ``forms`` next to ``ts_path`` from the eager ``policy``.

    ``ts_path`` must be the policy.ts exported from this same policy; its metadata, bound to it by
    its sha256 (binding.py), is copied into each form. Every form written is loaded back and
    compared with policy.ts on the same noise; a form outside parity.TOLERANCE is deleted and
    reported as an AccelError.
    Returns {form: {'path': ..., 'max_abs_err': ..., 'bound': ...}}.
    """
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.export import export_policy

    dev, _ = resolve_device(device)
    ts_path = Path(ts_path)
    reference = load_artifact(ts_path, device=str(dev))
    bound = bind(reference.meta, ts_path, reference.sha256)
    policy = policy.to(dev).eval()
    gen = torch.Generator().manual_seed(0)
    obs = random_obs(reference.meta, batch_size, gen, dev)
    noise = torch.randn(batch_size, reference.horizon, reference.action_dim,
                        generator=gen).to(dev)
    report: Dict[str, Dict[str, Any]] = {}
    for form in forms:
        if form in ('torchscript', 'cuda_graph'):
            continue  # read policy.ts itself
        target = sibling_path(ts_path, form)
        if form in ('fp16', 'bf16'):
            meta = {k: v for k, v in bound.items() if k != 'version'}
            export_policy(reduced_precision_policy(policy, form), target,
                          {**meta, 'precision': form}, seal=True)
        elif form == 'aot':
            export_aot(policy, target, bound, obs, noise)
        elif form in ('onnx', 'openvino'):   # one policy.onnx serves both
            from dil_ros.accel.onnx_export import export_onnx
            if form == 'onnx' or 'onnx' not in report:
                export_onnx(policy, target, bound, obs, noise)
            policy = policy.to(dev)   # the export traced it on the CPU
        else:
            raise AccelError(f'form: expected one of {", ".join(FORMS)}, got {form!r}')
        loaded = load_policy_form(ts_path, form, str(dev), batch_size,
                                  policy_sha256=reference.sha256)
        err = max_abs_error(reference.module, loaded, obs, noise)
        tolerance = TOLERANCE[form]
        if form == 'onnx' and 'TensorRT' in loaded.message:
            tolerance = TOLERANCE['onnx_fp16']
        if form == 'openvino' and 'bf16' not in loaded.message:
            tolerance = TOLERANCE['onnx']
        bound_err = tolerance * action_range(policy)
        report[form] = {'path': str(target), 'max_abs_err': err, 'bound': bound_err}
        if not err <= bound_err:
            target.unlink()
            raise AccelError(f'{target}: form {form} differs from {ts_path} by {err:.3g} '
                             f'(bound {bound_err:.3g}); file removed')
    return report
