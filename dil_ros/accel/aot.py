"""policy.pt2: the policy through torch.export + AOTInductor, an alternative artifact to policy.ts.

``export_aot`` exports the eager policy for one device and one batch size (the shapes of the
example observations; noise is an explicit input, so the DDIM loop is traced with it), compiles it
with AOTInductor into a .pt2 package and stores the same ``dil_ros.json`` metadata inside, under
the archive's extra/ folder, plus an ``aot`` entry (device, batch size, input shapes, torch
version). ``load_aot`` loads it with torch alone (``torch._inductor.aoti_load_package``); the
compiled code is specific to the device type and the torch version it was built with.

Cameras: frames are uint8 ``[B, To, H, W, 3]`` at the camera's native size, which policy.ts
resizes inside and which the exporter does not know. Their H and W are exported as dynamic
dimensions, traced with example frames of twice the policy's input size so that the resize is in
the program (at the input size itself bilinear resizing is the identity, so the one program serves
every size, the policy's own included). B, To and every other shape stay fixed; dtypes are
recorded and checked (a float frame is refused by name, not deep inside the compiled code).
"""
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
from torch import nn
from torch.export import Dim

from dil_ros.accel.errors import AccelError
from dil_ros.atomic import atomic_file
from dil_ros.policy.artifact import EXTRA_FILE, read_archive_metadata
from dil_ros.policy.digest import archive_sha256, write_sha256_file
from dil_ros.policy.export import check_sealed


def export_aot(policy: nn.Module, path: Union[str, Path], metadata: Mapping[str, Any],
               example_obs: Dict[str, torch.Tensor], example_noise: torch.Tensor) -> Path:
    """Compile ``policy(obs, noise)`` for the device and shapes of the examples into ``path``.

    ``policy`` must be an eager module (torch.export does not take TorchScript) on the examples'
    device. The package is written to a temp file and moved into place; its metadata records the
    package's own ``content_sha256`` (and whatever binding ``metadata`` carries, see binding.py).
    """
    path = Path(path)
    if path.suffix != '.pt2':
        raise AccelError(f'{path}: an AOTInductor package must end in .pt2')
    if isinstance(policy, torch.jit.ScriptModule):
        raise AccelError('aot export: needs the eager policy, not a TorchScript module')
    device = example_noise.device
    example_obs = {k: _trace_example(policy, k, example_obs[k])
                   for k in sorted(example_obs)}  # AotPolicy passes this order
    dynamic = {k: ({2: Dim.AUTO, 3: Dim.AUTO} if _is_frames(v) else None)
               for k, v in example_obs.items()}
    policy = policy.eval()
    with torch.no_grad():
        program = torch.export.export(policy, (dict(example_obs), example_noise),
                                      dynamic_shapes=(dynamic, None) if any(dynamic.values())
                                      else None, strict=False)
        files = torch._inductor.aot_compile(program.module(), (dict(example_obs), example_noise),
                                            options={'aot_inductor.package': True})
    meta = dict(metadata)
    meta['aot'] = {
        'device': device.type, 'batch_size': int(example_noise.shape[0]),
        'obs_shapes': _program_shapes(program, example_obs),
        'obs_dtypes': {k: str(v.dtype).replace('torch.', '') for k, v in example_obs.items()},
        'noise_shape': list(example_noise.shape), 'torch': torch.__version__,
    }
    return package_aot(path, files, meta)


def _is_frames(value: torch.Tensor) -> bool:
    return value.dtype == torch.uint8 and value.dim() == 5 and value.shape[-1] == 3


def _trace_example(policy: nn.Module, key: str, value: torch.Tensor) -> torch.Tensor:
    """Camera frames at twice the policy's input size (the resize traced), others as given."""
    if not _is_frames(value):
        return value
    size = {cam.key: (cam.height, cam.width) for cam in getattr(policy, 'cameras', [])}
    height, width = size.get(key, tuple(value.shape[2:4]))
    gen = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (*value.shape[:2], 2 * height, 2 * width, 3), generator=gen,
                           dtype=torch.uint8)
    return frames.to(value.device)


def _program_shapes(program, example_obs: Dict[str, torch.Tensor]
                    ) -> Dict[str, List[Optional[int]]]:
    """{key: shape} of the exported observation inputs, None where a dimension is dynamic."""
    placeholders = {n.name: n for n in program.graph.nodes if n.op == 'placeholder'}
    fakes = [placeholders[name].meta['val'] for name in program.graph_signature.user_inputs]
    if len(fakes) != len(example_obs) + 1:   # observations in order, then the noise
        raise AccelError(f'aot export: {len(fakes)} inputs exported, expected '
                         f'{len(example_obs) + 1}')
    return {key: [d if isinstance(d, int) else None for d in fake.shape]
            for key, fake in zip(example_obs, fakes)}


def package_aot(path: Path, files: List[str], meta: Mapping[str, Any]) -> Path:
    """Write AOTInductor's output ``files`` and ``meta`` as the .pt2 ``path`` (atomically), the
    metadata recording the package's own ``content_sha256`` (see binding.py), and path.sha256."""
    from torch.export.pt2_archive._package import package_pt2

    meta = dict(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, suffix='.pt2') as tmp:
        package_pt2(str(tmp), aoti_files=files,
                    extra_files={EXTRA_FILE: json.dumps(meta, indent=1, sort_keys=True)})
        meta['content_sha256'] = archive_sha256(tmp)
        package_pt2(str(tmp), aoti_files=files,
                    extra_files={EXTRA_FILE: json.dumps(meta, indent=1, sort_keys=True)})
        check_sealed(tmp, meta['content_sha256'], path)
    write_sha256_file(path)
    return path


def read_aot_metadata(path: Union[str, Path]) -> Dict[str, Any]:
    """The ``dil_ros.json`` stored in a policy.pt2, without loading the compiled code."""
    path = Path(path)
    if not path.is_file():
        raise AccelError(f'{path}: AOTInductor package not found')
    return read_archive_metadata(path, AccelError)


def load_aot(path: Union[str, Path], device: torch.device
             ) -> Tuple[Callable[..., torch.Tensor], Dict[str, Any]]:
    """(runner(obs, noise) -> actions, metadata); errors name the file and the mismatch."""
    path = Path(path)
    meta = read_aot_metadata(path)
    built = meta.get('aot', {})
    if built.get('device') != device.type:
        raise AccelError(f'{path}: compiled for {built.get("device")!r}, asked to run on '
                         f'{device.type!r}; export it again on that device')
    if built.get('torch') != torch.__version__:
        raise AccelError(f'{path}: compiled with torch {built.get("torch")}, this is torch '
                         f'{torch.__version__}; AOTInductor packages are version-specific')
    index = device.index if device.type == 'cuda' and device.index is not None else -1
    try:
        runner = torch._inductor.aoti_load_package(str(path), device_index=index)
    except Exception as exc:  # noqa: BLE001 - loader raises RuntimeError and friends
        raise AccelError(f'{path}: AOTInductor load failed: {str(exc).splitlines()[0]}') from None
    return runner, meta


class AotPolicy:
    """``__call__(obs, noise=None) -> actions`` over a loaded package; checks shapes first."""

    def __init__(self, runner: Callable[..., torch.Tensor], meta: Dict[str, Any],
                 device: torch.device, source: str = 'policy.pt2'):
        self.runner = runner
        self.meta = meta
        self.device = device
        self.source = source
        self.obs_shapes = {k: tuple(v) for k, v in meta['aot']['obs_shapes'].items()}
        self.obs_dtypes = meta['aot'].get('obs_dtypes', {})
        self.noise_shape = tuple(meta['aot']['noise_shape'])

    def __call__(self, obs: Dict[str, torch.Tensor],
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        if set(obs) != set(self.obs_shapes):
            raise AccelError(f'{self.source}: compiled for observation keys '
                             f'{sorted(self.obs_shapes)}, got {sorted(obs)}')
        for key, value in obs.items():
            want = self.obs_shapes[key]
            if len(value.shape) != len(want) or any(
                    w is not None and w != g for w, g in zip(want, value.shape)):
                shape = ['any' if w is None else w for w in want]
                raise AccelError(f'{self.source}: observation {key!r}: compiled for shape '
                                 f'{shape}, got {list(value.shape)}')
            dtype = str(value.dtype).replace('torch.', '')
            if key in self.obs_dtypes and dtype != self.obs_dtypes[key]:
                raise AccelError(f'{self.source}: observation {key!r}: compiled for '
                                 f'{self.obs_dtypes[key]}, got {dtype}')
        if noise is None:
            noise = torch.randn(self.noise_shape, device=self.device)
        elif tuple(noise.shape) != self.noise_shape:
            raise AccelError(f'{self.source}: noise: compiled for shape {list(self.noise_shape)}'
                             f', got {list(noise.shape)}')
        with torch.no_grad():
            # the compiled call takes the dict in the exported key order (sorted)
            return self.runner({k: obs[k].to(self.device) for k in sorted(obs)},
                               noise.to(self.device))
