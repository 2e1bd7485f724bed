"""The training loop: one function for the diffusion policy and the MSE baseline, 1..N processes.

Run layout (RUN_DIR)::

    config.yaml            the run config as used (policy timeline taken from the contract)
    contract.yaml          the robot contract the policy is trained for
    checkpoints/latest.pt  model, EMA, optimizer, lr scheduler, step, RNG, stats, ... (atomic)
    tb/                    TensorBoard scalars train/loss, train/lr
    loss.png               loss and learning rate over steps (written at the end)

Every random draw of step ``s`` (batch indices, noise, timesteps) is a pure function of
(seed, rank, s), and the checkpoint restores the optimizer, scheduler and EMA, so a run resumed at
step N ends where an uninterrupted run ends. Under torchrun each rank trains on its share of every
batch (DistributedSampler + DistributedDataParallel) and rank 0 alone writes.
"""
import contextlib
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import torch
import yaml
from diffusers.optimization import get_scheduler

from dil_ros.contract import Contract, contract_from_mapping
from dil_ros.errors import DilRosError
from dil_ros.training import distributed
from dil_ros.training.batches import IndexStream, batch_iterator
from dil_ros.training.builder import build_policy, count_parameters, objective_for
from dil_ros.training.checkpoint import (FORMAT, CheckpointError, latest_path, load_checkpoint,
                                         plain_stats, rng_state, save_atomic, set_rng_state)
from dil_ros.training.config import RunConfig, run_config_from_mapping
from dil_ros.training.ema import EMAModel
from dil_ros.training.logger import RunLogger


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


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Optional[Path]
    step: int
    final_loss: float
    samples_per_s: float
    history: List


def step_seed(seed: int, rank: int, step: int) -> int:
    return ((seed * 1000003 + rank) * 1000003 + step) % (2 ** 63)


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


def check_contract_dims(contract: Contract, dataset) -> None:
    if dict(contract.obs_dims) != dict(dataset.obs_dims) or \
            contract.action_dim != dataset.action_dim:
        raise TrainError(f'contract {contract.source} (obs {contract.obs_dims}, action '
                         f'{contract.action_dim}) does not match dataset {dataset.root} (obs '
                         f'{dataset.obs_dims}, action {dataset.action_dim}); pass --contract')


def _autocast(device: torch.device, enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


def _effective_warmup(config: RunConfig, total: int) -> int:
    """Configured warm-up, capped at 10 % of the run so short runs reach the peak rate."""
    return min(config.optim.warmup_steps, max(1, total // 10))


def train(req: TrainRequest) -> TrainResult:
    """Train (or resume) one run; see the module docstring for what lands in ``run_dir``."""
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.data.windowing import WindowDataset

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
        config = req.config or RunConfig()
        if req.contract is None:
            raise TrainError('no contract given')
        contract, kind = req.contract, req.kind
    dataset = read_dataset(req.dataset)
    check_contract_dims(contract, dataset)
    if ckpt is not None and ckpt['dataset_fingerprint'] != dataset.fingerprint:
        raise TrainError(f'{req.dataset}: dataset differs from the one {run_dir} was trained on '
                         '(fingerprint mismatch)')
    config = reconcile_timeline(config, contract)
    total = int(req.steps or config.train.steps)
    # The run's config records its real length, so a resume keeps the same lr schedule.
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=total))
    cfg_t, pcfg = config.train, config.policy
    if cfg_t.batch_size % info.world_size:
        raise TrainError(f'{config.source}: train.batch_size: {cfg_t.batch_size} is not '
                         f'divisible by the {info.world_size} processes')

    device = distributed.resolve_device(cfg_t.device, info)
    if cfg_t.cpu_threads:
        torch.set_num_threads(cfg_t.cpu_threads)
    distributed.init(info, device)
    try:
        return _run(req, info, device, run_dir, config, contract, kind, dataset, total, ckpt,
                    WindowDataset(dataset, pcfg.n_obs_steps, pcfg.horizon, pcfg.n_action_steps))
    finally:
        distributed.shutdown(info)


def _run(req, info, device, run_dir, config, contract, kind, dataset, total, ckpt, windows):
    cfg_t = config.train
    torch.manual_seed(cfg_t.seed)
    stats = plain_stats(dataset.stats)
    policy = build_policy(kind, config.policy, config.regression, dataset.obs_dims,
                          dataset.action_dim, stats).to(device)
    objective = objective_for(kind, policy, config.policy)
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.optim.lr, betas=config.optim.betas,
                                  weight_decay=config.optim.weight_decay)
    lr_scheduler = get_scheduler(config.optim.lr_scheduler, optimizer=optimizer,
                                 num_warmup_steps=_effective_warmup(config, total),
                                 num_training_steps=total)
    ema = EMAModel(policy, config.ema) if config.ema.enabled else None
    scaler = torch.amp.GradScaler('cuda', enabled=cfg_t.amp and device.type == 'cuda')
    start, history = 0, []
    if ckpt is not None:
        policy.load_state_dict(ckpt['model'])
        optimizer.load_state_dict(ckpt['optimizer'])
        lr_scheduler.load_state_dict(ckpt['lr_scheduler'])
        if ema is not None and ckpt.get('ema'):
            ema.load_state_dict(ckpt['ema'])
        if ckpt.get('scaler'):
            scaler.load_state_dict(ckpt['scaler'])
        set_rng_state(ckpt['rng'])
        start, history = int(ckpt['step']), list(ckpt.get('history', []))
    if start >= total and info.is_main:
        print(f'{run_dir}: already at step {start} >= {total}; nothing to train')

    model = objective
    if info.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == 'cuda' else None)
    per_rank = cfg_t.batch_size // info.world_size
    stream = IndexStream(len(windows), per_rank, cfg_t.seed, info)
    batches = batch_iterator(windows, stream, start, device, cfg_t.num_workers)
    generator = torch.Generator(device=device)
    logger = RunLogger(run_dir, info.is_main, history)

    def save(step: int) -> Optional[Path]:
        if not info.is_main:
            return None
        state = {'format': FORMAT, 'kind': kind, 'step': step, 'model': policy.state_dict(),
                 'ema': ema.state_dict() if ema else None, 'optimizer': optimizer.state_dict(),
                 'lr_scheduler': lr_scheduler.state_dict(), 'scaler': scaler.state_dict(),
                 'rng': rng_state(), 'config': config.to_dict(), 'stats': stats,
                 'obs_dims': dict(dataset.obs_dims), 'action_dim': int(dataset.action_dim),
                 'contract': contract.to_mapping(), 'dataset_fingerprint': dataset.fingerprint,
                 'dataset': str(dataset.root), 'history': [list(h) for h in logger.history]}
        return save_atomic(state, latest_path(run_dir))

    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.dump(run_dir / 'config.yaml')
        (run_dir / 'contract.yaml').write_text(yaml.safe_dump(contract.to_mapping(),
                                                              sort_keys=False))
        n = count_parameters(policy)['trainable']
        print(f'training {kind} policy ({n / 1e6:.2f} M parameters) on {len(windows)} windows '
              f'of {dataset.root}, steps {start} -> {total}, batch {cfg_t.batch_size} '
              f'x {info.world_size} process(es) on {device}', flush=True)

    from tqdm import tqdm
    bar = tqdm(total=total, initial=start, disable=not (req.progress and info.is_main),
               desc=f'train {kind}', dynamic_ncols=True, mininterval=1.0)
    policy.train()
    loss_sum, n_sum, last_loss = torch.zeros((), device=device), 0, float('nan')
    t0, path, t_save = time.perf_counter(), None, 0.0
    warm = start + min(5, max(0, (total - start) // 5))    # leave warm-up steps out of samples/s
    end = min(total, req.stop_at) if req.stop_at else total
    for step in range(start, end):
        batch = next(batches)
        generator.manual_seed(step_seed(cfg_t.seed, info.rank, step))
        noise, timesteps = objective.draw(batch['action'], generator)
        with _autocast(device, cfg_t.amp):
            loss = model(batch['obs'], batch['action'], noise, timesteps)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        lr_scheduler.step()
        if ema is not None:
            ema.step(policy)
        loss_sum += loss.detach()
        n_sum += 1
        done = step + 1
        if done % cfg_t.log_every == 0 or done == total:
            last_loss = distributed.mean_across_ranks(loss_sum / n_sum, info)
            loss_sum.zero_()
            n_sum = 0
            logger.scalars(done, last_loss, lr_scheduler.get_last_lr()[0])
            bar.set_postfix(loss=f'{last_loss:.4f}', refresh=False)
        bar.update(1)
        if done == warm:
            t0, t_save = time.perf_counter(), 0.0
        if done % cfg_t.checkpoint_every == 0 or done == end:
            t_save -= time.perf_counter()
            path = save(done)
            distributed.barrier(info)
            t_save += time.perf_counter()
    bar.close()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - t0 - t_save
    trained = max(0, end - max(start, warm))
    if info.is_main:
        if path is None and ckpt is None:
            path = save(start)
        logger.plot(run_dir / 'loss.png', f'{kind} policy, {run_dir.name}')
    logger.close()
    return TrainResult(run_dir=run_dir, checkpoint=latest_path(run_dir) if info.is_main else None,
                       step=max(end, start), final_loss=last_loss,
                       samples_per_s=trained * cfg_t.batch_size / max(elapsed, 1e-9),
                       history=list(logger.history))


__all__ = ['TrainRequest', 'TrainResult', 'TrainError', 'CheckpointError', 'train']
