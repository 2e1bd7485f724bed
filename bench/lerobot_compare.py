"""Section b of the suite: LeRobot's DiffusionPolicy.select_action vs ours, same net, same steps.

LeRobot (0.4.x) is configured like our policy: state + environment-state inputs of the
mujoco_arm contract, To=2, Tp=16, Ta=8, the same U-Net widths, kernel size, groups, FiLM scale
modulation, DDIM with ``steps`` inference steps over 100 squared-cosine training steps, epsilon
prediction, clipped samples. Each timed call is ``reset()`` + ``select_action(batch)``, so every
call samples a whole chunk (without reset, 7 of 8 calls only pop a queued action). LeRobot 0.4
normalises in separate processors, outside select_action; our policy.ts includes the normaliser,
so the comparison slightly favours LeRobot.

Optional dependency: see requirements-bench.txt. Never imported by tests.
"""
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch


class _Missing:
    """Stands for any torchvision object; fails only if the policy really calls it."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError('torchvision is stubbed out in this benchmark')


class _StubTorchvision(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of torchvision(.*) yield empty packages whose attributes are _Missing."""

    def find_spec(self, name, path=None, target=None):
        if name == 'torchvision' or name.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []

        def missing(attr):
            if attr.startswith('__'):
                raise AttributeError(attr)
            return _Missing
        module.__getattr__ = missing


def _stub_torchvision(notes: List[str]) -> None:
    """A torchvision that fails to import (e.g. a CUDA wheel beside CPU torch) is replaced by empty
    modules: the state-only policy never touches it (only LeRobot's image encoder does)."""
    try:
        import torchvision  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure
        for name in [n for n in sys.modules if n == 'torchvision' or n.startswith('torchvision.')]:
            del sys.modules[name]
        sys.meta_path.insert(0, _StubTorchvision())
        notes.append(f'torchvision does not import here ({type(exc).__name__}: '
                     f'{str(exc).splitlines()[0][:80]}); empty stub modules stand in (the '
                     f'state-only policy never uses it)')


def lerobot_policy(ours, contract):
    """LeRobot's DiffusionPolicy with the network and sampler settings of ``ours``."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy as LeRobotPolicy

    dims, c = contract.obs_dims, ours.config
    config = DiffusionConfig(
        n_obs_steps=contract.n_obs_steps, horizon=contract.horizon,
        n_action_steps=contract.n_action_steps,
        input_features={
            'observation.state': PolicyFeature(FeatureType.STATE, (dims['observation.state'],)),
            'observation.environment_state': PolicyFeature(
                FeatureType.ENV, (dims['observation.environment_state'],)),
        },
        output_features={'action': PolicyFeature(FeatureType.ACTION, (contract.action_dim,))},
        down_dims=tuple(c.down_dims), kernel_size=c.kernel_size, n_groups=c.n_groups,
        diffusion_step_embed_dim=c.diffusion_step_embed_dim,
        use_film_scale_modulation=c.cond_predict_scale, noise_scheduler_type='DDIM',
        num_train_timesteps=c.num_train_timesteps, num_inference_steps=c.num_inference_steps,
        beta_schedule=c.beta_schedule, prediction_type=c.prediction_type,
        clip_sample=c.clip_sample, clip_sample_range=c.clip_sample_range, device='cpu')
    torch.manual_seed(0)
    return LeRobotPolicy(config).eval()


def compare(nets: Sequence[str], net_dims: Dict[str, Sequence[int]], steps: int,
            device: torch.device, iters: int, warmup: int, cache: Path,
            notes: List[str]) -> Dict[str, Any]:
    """Rows of median/p99 ms for LeRobot select_action, our eager policy and policy.ts (and
    policy.pt2 when section a left one in ``cache`` for this net and device)."""
    _stub_torchvision(notes)
    import lerobot

    from dil_ros.accel.aot import AotPolicy, load_aot
    from dil_ros.accel.synthetic import default_contract, synthetic_inputs, synthetic_policy
    from dil_ros.accel.timing import time_round_robin
    from dil_ros.policy.export import script_policy

    notes.append(f'lerobot {getattr(lerobot, "__version__", "?")}; LeRobot timed as reset() + '
                 f'select_action() (one full chunk per call)')
    contract = default_contract()
    rows = []
    for net in nets:
        dims = tuple(net_dims[net])
        ours = synthetic_policy(dims, steps).to(device)
        obs, noise = synthetic_inputs(ours, 1, device=device)
        theirs = lerobot_policy(ours, contract).to(device)
        batch = {k: v[:, -1] for k, v in obs.items()}  # select_action takes one step [B, D]

        def lerobot_call():
            theirs.reset()
            return theirs.select_action(dict(batch))

        candidates = {'lerobot.select_action': lerobot_call, 'eager': lambda: ours(obs, noise)}
        scripted = script_policy(ours)
        candidates['torchscript'] = lambda: scripted(obs, noise)
        pt2 = cache / f'{net}_{steps}' / f'policy_{device.type}.pt2'
        if pt2.is_file():
            try:
                runner, meta = load_aot(pt2, device)
                aot = AotPolicy(runner, meta, device, str(pt2))
                candidates['aot'] = lambda: aot(obs, noise)
            except Exception as exc:  # noqa: BLE001 - a stale cache only loses a column
                notes.append(f'{pt2}: not used ({exc})')
        else:
            notes.append(f'{net}: no policy.pt2 from section a in {pt2.parent}; aot not compared')
        onnx_file = cache / f'{net}_{steps}' / 'policy_b1.onnx'   # section a's form onnx
        if onnx_file.is_file():
            try:
                from dil_ros.accel.onnx_export import read_onnx
                from dil_ros.accel.onnx_runtime import load_onnx
                onnx_form, _ = load_onnx(onnx_file, device, read_onnx(onnx_file)[0])
                candidates['onnx'] = lambda: onnx_form(obs, noise)
            except Exception as exc:  # noqa: BLE001 - a stale cache only loses a column
                notes.append(f'{onnx_file}: not used ({exc})')
            try:
                from dil_ros.accel.openvino_runtime import load_openvino
                ov_form = load_openvino(onnx_file, read_onnx(onnx_file)[0])   # optional package
                notes.append(f'{net}: openvino: {ov_form.precision_note}')
                candidates['openvino'] = lambda: ov_form(obs, noise)
            except Exception as exc:  # noqa: BLE001 - openvino is optional
                notes.append(f'{net}: openvino not compared ({exc})')
        timed = time_round_robin(candidates, device, iters, warmup)
        base = timed['lerobot.select_action']['median_ms']
        for name, stats in timed.items():
            row = {'net': net, 'down_dims': list(dims), 'impl': name, 'device': str(device),
                   **stats, 'speedup_vs_lerobot': round(base / stats['median_ms'], 2)}
            rows.append(row)
            print(f'b: {net} {name}: median {row["median_ms"]:.3f} ms', flush=True)
        n_theirs = sum(p.numel() for p in theirs.diffusion.unet.parameters())
        n_ours = sum(p.numel() for p in ours.model.parameters())
        notes.append(f'{net}: U-Net parameters LeRobot {n_theirs:,} vs ours {n_ours:,}')
    return {'rows': rows, 'notes': notes}
