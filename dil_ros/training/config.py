"""Training configuration: small typed dataclasses per concern, loaded from one YAML file.

Layout of config/train_*.yaml (every section and key optional; defaults are Chi et al.'s)::

    train:      {steps, batch_size, seed, checkpoint_every, checkpoint_minutes, log_every,
                 num_workers, device, amp, amp_dtype, compile, compile_mode, cpu_threads,
                 episodes, val_episodes, val_every, val_batches}
    optim:      {lr, betas, weight_decay, warmup_steps, lr_scheduler, impl}
    ema:        {enabled, power, max_value, min_value, inv_gamma, update_after_step}
    policy:     PolicyConfig fields (dil_ros/policy/config.py)
    regression: RegressionConfig fields (dil_ros/policy/regression.py), for --baseline
    vision:     VisionConfig fields (dil_ros/policy/vision_encoder.py), for contracts with cameras

Unknown sections or keys are rejected with an error naming the file and the key.
"""
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import yaml

from dil_ros.errors import DilRosError, read_yaml


class ConfigError(DilRosError, ValueError):
    """A training config file is invalid; the message names the file and the key."""


@dataclass
class OptimConfig:
    """AdamW with warm-up then a schedule from diffusers.optimization.get_scheduler."""

    lr: float = 1e-4
    betas: Tuple[float, float] = (0.95, 0.999)
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    lr_scheduler: str = 'cosine'
    impl: str = 'auto'        # AdamW kernel: auto (= fused), fused, foreach, for-loop (speed.py)

    def __post_init__(self):
        from dil_ros.training.speed import OPTIM_IMPLS
        if self.impl not in OPTIM_IMPLS:
            raise ValueError(f'impl must be one of {", ".join(OPTIM_IMPLS)}, got {self.impl!r}')
        self.betas = tuple(float(b) for b in self.betas)
        if self.lr <= 0:
            raise ValueError(f'lr must be > 0, got {self.lr}')
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f'betas must be two numbers in [0, 1), got {list(self.betas)}')
        if self.warmup_steps < 0:
            raise ValueError(f'warmup_steps must be >= 0, got {self.warmup_steps}')


@dataclass
class EMAConfig:
    """EMA of the weights with Chi's EMAModel decay: 1 - (1 + step / inv_gamma) ** -power."""

    enabled: bool = True
    power: float = 0.75
    max_value: float = 0.9999
    min_value: float = 0.0
    inv_gamma: float = 1.0
    update_after_step: int = 0

    def __post_init__(self):
        if not 0 <= self.min_value <= self.max_value <= 1:
            raise ValueError('need 0 <= min_value <= max_value <= 1, got '
                             f'{self.min_value}, {self.max_value}')


@dataclass
class TrainConfig:
    """The loop itself: how long, how big, how often to log, validate and checkpoint, where."""

    steps: int = 100000
    batch_size: int = 256
    seed: int = 42
    checkpoint_every: int = 5000
    checkpoint_minutes: float = 10.0   # also checkpoint when this long has passed since the last
    log_every: int = 50
    num_workers: int = 0
    device: str = 'auto'
    amp: bool = False         # mixed precision (autocast), see speed.py
    amp_dtype: str = 'auto'   # auto: bf16 on a CPU and on CUDA that has it, else fp16; bf16; fp16
    compile: bool = False     # torch.compile the loss step (pays a compile on the first step)
    compile_mode: str = 'default'   # torch.compile mode: default, max-autotune, ... (speed.py)
    cpu_threads: int = 0      # torch CPU threads; 0 keeps torch's default
    episodes: Union[str, float] = 'all'         # training episodes (dil_ros/training/episodes.py)
    val_episodes: Union[str, float] = 'none'    # held-out episodes for the validation loss
    val_every: int = 500      # validation loss every N steps (and at every checkpoint)
    val_batches: int = 4      # at most this many batches of held-out windows per validation

    def __post_init__(self):
        for name in ('steps', 'batch_size', 'checkpoint_every', 'log_every', 'val_every',
                     'val_batches'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        for name in ('num_workers', 'cpu_threads'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')
        from dil_ros.training.speed import AMP_DTYPES, COMPILE_MODES
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f'amp_dtype must be one of {", ".join(AMP_DTYPES)}, '
                             f'got {self.amp_dtype!r}')
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f'compile_mode must be one of {", ".join(COMPILE_MODES)}, '
                             f'got {self.compile_mode!r}')
        if not self.checkpoint_minutes > 0:
            raise ValueError(f'checkpoint_minutes must be > 0, got {self.checkpoint_minutes}')
        if self.device != 'auto' and not self.device.split(':')[0] in ('cpu', 'cuda', 'mps'):
            raise ValueError("device must be 'auto', 'cpu', 'cuda[:N]' or 'mps', "
                             f'got {self.device!r}')
        from dil_ros.training.episodes import check_spec
        self.episodes = check_spec(self.episodes, 'episodes')
        self.val_episodes = check_spec(self.val_episodes, 'val_episodes')


@dataclass
class RunConfig:
    """Everything one training run needs, as read from one YAML file."""

    train: TrainConfig = field(default_factory=TrainConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    policy: Any = None        # dil_ros.policy.config.PolicyConfig
    regression: Any = None    # dil_ros.policy.regression.RegressionConfig
    vision: Any = None        # dil_ros.policy.vision_encoder.VisionConfig
    source: str = '<defaults>'
    explicit_policy_keys: Tuple[str, ...] = ()   # policy keys the file set (vs. defaults)

    def __post_init__(self):
        if self.policy is None:
            from dil_ros.policy.config import PolicyConfig
            self.policy = PolicyConfig()
        if self.regression is None:
            from dil_ros.policy.regression import RegressionConfig
            self.regression = RegressionConfig()
        if self.vision is None:
            from dil_ros.policy.vision_encoder import VisionConfig
            self.vision = VisionConfig()

    def to_dict(self) -> Dict[str, Any]:
        out = {name: _plain(asdict(getattr(self, name))) for name in ('train', 'optim', 'ema')}
        out['policy'] = _plain(self.policy.to_dict())
        out['regression'] = _plain(asdict(self.regression))
        out['vision'] = _plain(self.vision.to_dict())
        return out

    def dump(self, path: Union[str, Path]) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _check_type(kind: Any, value: Any, where: str) -> None:
    """Reject YAML values of the wrong scalar type (a string '1e-4', a bool for a number)."""
    kind = getattr(kind, '__name__', kind)
    if kind == 'bool' and not isinstance(value, bool):
        raise ConfigError(f'{where}: expected true/false, got {value!r}')
    if kind == 'int' and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f'{where}: expected an integer, got {value!r}')
    if kind == 'float' and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f'{where}: expected a number, got {value!r} (write 1.0e-4, not 1e-4)')
    if kind == 'str' and not isinstance(value, str):
        raise ConfigError(f'{where}: expected a string, got {value!r}')


def _section(cls, data: Any, source: str, name: str):
    """Build dataclass ``cls`` from ``data``, naming file and key in every error."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f'{source}: {name}: expected a mapping, got {type(data).__name__}')
    known = {f.name: f for f in fields(cls)}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f'{source}: {name}.{key}: unknown key '
                              f'(allowed: {", ".join(known)})')
        _check_type(known[key].type, value, f'{source}: {name}.{key}')
    try:
        if hasattr(cls, 'from_dict'):
            return cls.from_dict(dict(data), source=f'{source}: {name}')
        return cls(**data)
    except ConfigError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f'{source}: {name}: {exc}') from None


def run_config_from_mapping(data: Any, source: str = '<mapping>') -> RunConfig:
    """Validate a mapping (parsed YAML) into a RunConfig."""
    from dil_ros.policy.config import PolicyConfig
    from dil_ros.policy.regression import RegressionConfig
    from dil_ros.policy.vision_encoder import VisionConfig
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f'{source}: expected a mapping at the top level')
    sections = {'train': TrainConfig, 'optim': OptimConfig, 'ema': EMAConfig,
                'policy': PolicyConfig, 'regression': RegressionConfig, 'vision': VisionConfig}
    for key in data:
        if key not in sections:
            raise ConfigError(f'{source}: {key}: unknown section (allowed: {", ".join(sections)})')
    built = {name: _section(cls, data.get(name), source, name) for name, cls in sections.items()}
    policy_keys = tuple((data.get('policy') or {}).keys())
    return RunConfig(source=source, explicit_policy_keys=policy_keys, **built)


def load_run_config(path: Union[str, Path]) -> RunConfig:
    """Read config/train_*.yaml into a RunConfig."""
    return run_config_from_mapping(read_yaml(path, 'training config', ConfigError), str(path))


def default_config(cuda: Optional[bool] = None) -> Tuple[Path, str]:
    """The training config used when none is given, and why (training's first log line).

    Chi et al.'s U-Net (train_default.yaml, [256, 512, 1024], 65 M parameters for the arm) on a
    CUDA device; the small U-Net (train_small.yaml, [64, 128, 256], 5.3 M) without one, where
    Chi's takes about 9 s a step at batch 256 on one of our two CPU cores and the small about
    0.7 s. ``cuda`` None asks torch.
    """
    if cuda is None:
        import torch
        cuda = torch.cuda.is_available()
    if cuda:
        return (config_dir() / 'train_default.yaml',
                "a CUDA device is present: Chi et al.'s U-Net [256, 512, 1024]")
    return (config_dir() / 'train_small.yaml',
            'no CUDA device: the small U-Net [64, 128, 256], about 13x faster a step on a CPU '
            "than Chi et al.'s [256, 512, 1024] (--config config/train_default.yaml for that)")


def config_dir() -> Path:
    """config/ in the source tree or the installed share/dil_ros/config."""
    here = Path(__file__).resolve().parents[2] / 'config'
    if (here / 'train_default.yaml').exists():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory('dil_ros')) / 'config'
    except Exception:  # noqa: BLE001 - ament index is optional
        return here
