"""Start or resume a training run: one function for the diffusion policy and the MSE baseline.

This module checks and loads what a run needs (config, contract, dataset, episode split); the
step loop is in loop.py. Run layout (RUN_DIR)::

    config.yaml            the run config as used (policy timeline from the contract, episode
                           selection, the run's length when a time budget sized it)
    contract.yaml          the robot contract the policy is trained for
    checkpoints/latest.pt  model, EMA, optimizer, scheduler, step, RNG, stats, split, ... (atomic)
    tb/                    TensorBoard scalars train/loss, train/lr, val/loss
    loss.png               loss (and validation loss) and learning rate over steps, written when
                           the run ends, stops at its time limit or is interrupted with Ctrl+C

Every random draw of step ``s`` (batch indices, noise, timesteps) is a pure function of
(seed, rank, s), and the checkpoint restores the optimizer, scheduler and EMA, so a run resumed at
step N ends where an uninterrupted run ends. Under torchrun each rank trains on its share of every
batch (DistributedSampler + DistributedDataParallel) and rank 0 alone writes.
"""
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from dil_ros.contract import Contract, contract_from_mapping
from dil_ros.errors import DilRosError
from dil_ros.training import distributed
from dil_ros.training.checkpoint import CheckpointError, latest_path, load_checkpoint
from dil_ros.training.config import RunConfig, run_config_from_mapping
from dil_ros.training.episodes import Split, make_split
from dil_ros.training.stopping import StopRequest


class TrainError(DilRosError, ValueError):
    """A training run cannot start or resume; the message names the file or directory."""


@dataclass
class TrainRequest:
    dataset: Path
    run_dir: Path
    config: Optional[RunConfig] = None   # None with resume: the run's own config
    contract: Optional[Contract] = None
    kind: str = 'diffusion'
    resume: bool = False
    steps: Optional[int] = None          # overrides config.train.steps
    stop_at: Optional[int] = None        # stop early (with a checkpoint), as an interruption would
    progress: bool = True
    episodes: Optional[str] = None       # overrides config.train.episodes (not on resume)
    val_episodes: Optional[str] = None   # overrides config.train.val_episodes (not on resume)
    time_limit_s: Optional[float] = None  # wall-clock budget from the call; see schedule.py


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Optional[Path]
    step: int
    final_loss: float
    samples_per_s: float
    history: List
    val_loss: Optional[float] = None     # last validation loss (None without held-out episodes)
    val_history: List = dataclasses.field(default_factory=list)
    stopped: Optional[str] = None        # 'interrupted', 'time limit' or None (ran to the end)
    split: Optional[Split] = None
    first_step_s: Optional[float] = None  # the first step's seconds (train.compile: compiling)
    best_samples_per_s: Optional[float] = None  # of the fastest timed step (loaded machines)


def reconcile_timeline(config: RunConfig, contract: Contract) -> RunConfig:
    """Take To/Tp/Ta from the contract; a config file that sets other values is an error."""
    policy = config.policy
    changes = {}
    for key in ('n_obs_steps', 'horizon', 'n_action_steps'):
        want = getattr(contract, key)
        if getattr(policy, key) != want:
            if key in config.explicit_policy_keys:
                raise TrainError(f'{config.source}: policy.{key}: {getattr(policy, key)} but the '
                                 f'contract {contract.source} says {want}')
            changes[key] = want
    if changes:
        data = {**policy.to_dict(), **changes}
        config = dataclasses.replace(config, policy=type(policy).from_dict(data, policy.source))
    return config


@dataclass
class Setup:
    """Everything the loop needs, checked: see train()."""

    req: TrainRequest
    info: distributed.DistInfo
    device: torch.device
    run_dir: Path
    config: RunConfig
    contract: Contract
    kind: str
    dataset: Any                 # dil_ros.data.lerobot.Dataset
    split: Split
    stats: Dict[str, Dict[str, list]]
    windows: Any                 # WindowDataset of the training episodes
    val_windows: Any             # WindowDataset of the held-out episodes, or None
    ckpt: Optional[Dict[str, Any]]
    stop: StopRequest


def train(req: TrainRequest) -> TrainResult:
    """Train (or resume) one run; see the module docstring for what lands in ``run_dir``."""
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.data.lerobot_reader import read_info
    from dil_ros.data.stats import compute_stats
    from dil_ros.data.windowing import WindowDataset
    from dil_ros.training.checkpoint import plain_stats
    from dil_ros.training.checks import check_dataset_fits
    from dil_ros.training.frames import attach_camera_frames
    from dil_ros.training.loop import run_loop

    stop = StopRequest(req.time_limit_s)      # the budget counts from here, loading included
    info = distributed.DistInfo.from_env()
    run_dir = Path(req.run_dir)
    ckpt = None
    if req.resume:
        ckpt = load_checkpoint(run_dir)
        config = run_config_from_mapping(ckpt['config'], f'{latest_path(run_dir)}: config')
        contract = contract_from_mapping(ckpt['contract'], f'{latest_path(run_dir)}: contract')
        kind = ckpt['kind']
        if kind != req.kind:
            raise TrainError(f'{run_dir}: this run trains a {kind} policy; '
                             f'{"drop" if kind == "diffusion" else "add"} --baseline to resume it')
    else:
        if latest_path(run_dir).exists():
            raise TrainError(f'{run_dir}: already holds a checkpoint; pass --resume to continue '
                             'it or choose another --out')
        config = _with_episodes(req.config or RunConfig(), req)
        if req.contract is None:
            raise TrainError('no contract given')
        contract, kind = req.contract, req.kind
    check_dataset_fits(contract, Path(req.dataset), read_info(req.dataset))
    # Cameras come from the frame cache (decoded once, at the contract's size), not the reader
    # (which reads one camera only when the contract has no low-dim key: it needs one key).
    dataset = read_dataset(req.dataset, keys=contract.lowdim_keys or contract.image_keys[:1])
    attach_camera_frames(dataset, contract)
    if ckpt is not None and ckpt['dataset_fingerprint'] != dataset.fingerprint:
        raise TrainError(f'{req.dataset}: dataset differs from the one {run_dir} was trained on '
                         '(fingerprint mismatch)')
    if ckpt is not None and ckpt.get('split'):
        split = Split(tuple(ckpt['split']['train']), tuple(ckpt['split']['val']))
    else:
        split = make_split(len(dataset.episodes), config.train.episodes,
                           config.train.val_episodes, str(dataset.root))
    train_eps = [dataset.episodes[i] for i in split.train]
    # The normaliser sees the training episodes only (stats.json covers them all).
    stats = plain_stats(dataset.stats if len(train_eps) == len(dataset.episodes)
                        else compute_stats(train_eps))
    config = reconcile_timeline(config, contract)
    total = int(req.steps or config.train.steps)
    # The run's config records its real length, so a resume keeps the same lr schedule.
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=total))
    cfg_t, pcfg = config.train, config.policy
    if cfg_t.batch_size % info.world_size:
        raise TrainError(f'{config.source}: train.batch_size: {cfg_t.batch_size} is not '
                         f'divisible by the {info.world_size} processes')

    def windows(episodes):
        return WindowDataset(episodes, pcfg.n_obs_steps, pcfg.horizon, pcfg.n_action_steps)

    val_eps = [dataset.episodes[i] for i in split.val]
    device = distributed.resolve_device(cfg_t.device, info)
    if cfg_t.cpu_threads:
        torch.set_num_threads(cfg_t.cpu_threads)
    distributed.init(info, device)
    try:
        return run_loop(Setup(req=req, info=info, device=device, run_dir=run_dir, config=config,
                              contract=contract, kind=kind, dataset=dataset, split=split,
                              stats=stats, windows=windows(train_eps),
                              val_windows=windows(val_eps) if val_eps else None, ckpt=ckpt,
                              stop=stop))
    finally:
        distributed.shutdown(info)


def _with_episodes(config: RunConfig, req: TrainRequest) -> RunConfig:
    """The config with the request's episode selection (validated as the config file's is)."""
    from dil_ros.training.config import TrainConfig
    changes = {k: v for k, v in (('episodes', req.episodes), ('val_episodes', req.val_episodes))
               if v is not None}
    if not changes:
        return config
    data = {**dataclasses.asdict(config.train), **changes}
    return dataclasses.replace(config, train=TrainConfig(**data))


__all__ = ['TrainRequest', 'TrainResult', 'TrainError', 'CheckpointError', 'train']
