"""The step loop of a training run (set up by trainer.train), 1..N processes.

Every random draw of step ``s`` (batch indices, noise, timesteps) is a pure function of
(seed, rank, s), and the checkpoint restores the optimizer, scheduler and EMA, so a run resumed at
step N ends where an uninterrupted run ends. Under torchrun each rank trains on its share of every
batch (DistributedSampler + DistributedDataParallel) and rank 0 alone writes.

A checkpoint is written every ``train.checkpoint_every`` steps, whenever
``train.checkpoint_minutes`` have passed since the last one, at the end, and when the run stops
early (``--time-limit`` spent, Ctrl+C); the validation loss is computed at each of those and every
``train.val_every`` steps.
"""
import dataclasses
import time
from pathlib import Path
from typing import Optional

import torch
import yaml

from dil_ros.training import distributed
from dil_ros.training.batches import IndexStream, batch_iterator
from dil_ros.training.builder import (build_policy, camera_specs, count_parameters,
                                      objective_for)
from dil_ros.training.checkpoint import (FORMAT, latest_path, restore_training_state,
                                         rng_state, save_atomic)
from dil_ros.training.ema import EMAModel
from dil_ros.training.logger import RunLogger
from dil_ros.training.schedule import BudgetSizer, make_lr_scheduler, resize_lr_scheduler
from dil_ros.training.speed import autocast, compiled, make_optimizer, needs_grad_scaler
from dil_ros.training.stopping import format_duration
from dil_ros.training.validation import Validator

STOP_REASONS = (None, 'time limit', 'interrupted')


def step_seed(seed: int, rank: int, step: int) -> int:
    return ((seed * 1000003 + rank) * 1000003 + step) % (2 ** 63)


def run_loop(s):
    """Train ``s`` (a trainer.Setup) to its end or until it is stopped; returns a TrainResult."""
    from dil_ros.training.trainer import TrainResult
    req, info, device, run_dir, config, ckpt = s.req, s.info, s.device, s.run_dir, s.config, \
        s.ckpt
    cfg_t = config.train
    say = (lambda text: print(text, flush=True)) if info.is_main else None
    torch.manual_seed(cfg_t.seed)
    policy = build_policy(s.kind, config.policy, config.regression, s.dataset.obs_dims,
                          s.dataset.action_dim, s.stats, camera_specs(s.contract),
                          config.vision).to(device)
    objective = objective_for(s.kind, policy, config.policy)
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, config.optim, device)
    total = cfg_t.steps
    lr_scheduler = make_lr_scheduler(config.optim, optimizer, total,
                                     say if ckpt is None else None)
    ema = EMAModel(policy, config.ema) if config.ema.enabled else None
    scaler = torch.amp.GradScaler('cuda', enabled=needs_grad_scaler(device, cfg_t))
    start, history, val_history, sized = 0, [], [], False
    if ckpt is not None:
        start, history = restore_training_state(ckpt, policy, optimizer, lr_scheduler, ema,
                                                scaler)
        val_history, sized = list(ckpt.get('val_history', [])), bool(ckpt.get('time_sized'))
    if start >= total and say:
        say(f'{run_dir}: already at step {start} >= {total}; nothing to train')

    model = objective
    if info.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == 'cuda' else None)
    model = compiled(model, cfg_t)
    per_rank = cfg_t.batch_size // info.world_size
    stream = IndexStream(len(s.windows), per_rank, cfg_t.seed, info)
    batches = batch_iterator(s.windows, stream, start, device, cfg_t.num_workers)
    generator = torch.Generator(device=device)
    logger = RunLogger(run_dir, info.is_main, history, val_history)
    validator = None
    if s.val_windows is not None and info.is_main:
        watched = objective_for(s.kind, ema.averaged_model if ema else policy, config.policy)
        validator = Validator(s.val_windows, watched, per_rank, cfg_t.val_batches,
                              cfg_t.seed + 1, device)

    def save(step: int) -> Optional[Path]:
        if not info.is_main:
            return None
        state = {'format': FORMAT, 'kind': s.kind, 'step': step, 'model': policy.state_dict(),
                 'ema': ema.state_dict() if ema else None, 'optimizer': optimizer.state_dict(),
                 'lr_scheduler': lr_scheduler.state_dict(), 'scaler': scaler.state_dict(),
                 'rng': rng_state(), 'config': config.to_dict(), 'stats': s.stats,
                 'obs_dims': dict(s.dataset.obs_dims), 'action_dim': int(s.dataset.action_dim),
                 'contract': s.contract.to_mapping(),
                 'dataset_fingerprint': s.dataset.fingerprint, 'dataset': str(s.dataset.root),
                 'split': s.split.to_mapping(), 'time_sized': sized,
                 'history': [list(h) for h in logger.history],
                 'val_history': [list(h) for h in logger.val_history]}
        return save_atomic(state, latest_path(run_dir))

    def validate(step: int) -> None:
        if validator is not None and (not logger.val_history or logger.val_history[-1][0] != step):
            logger.val_scalar(step, validator.loss(lambda: autocast(device, cfg_t)))

    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.dump(run_dir / 'config.yaml')
        (run_dir / 'contract.yaml').write_text(yaml.safe_dump(s.contract.to_mapping(),
                                                              sort_keys=False))
        n = count_parameters(policy)['trainable']
        held = (f', {len(s.split.val)} held out for validation ({validator.num_windows} '
                'windows)' if validator else '')
        say(f'training {s.kind} policy ({n / 1e6:.2f} M parameters) on {len(s.windows)} windows '
            f'of {len(s.split.train)} episodes{held} of {s.dataset.root}, steps {start} -> '
            f'{total}, batch {cfg_t.batch_size} x {info.world_size} process(es) on {device}')

    from tqdm import tqdm
    bar = tqdm(total=total, initial=start, disable=not (req.progress and info.is_main),
               desc=f'train {s.kind}', dynamic_ncols=True, mininterval=1.0)
    policy.train()
    loss_sum, n_sum, last_loss = torch.zeros((), device=device), 0, float('nan')
    t0, path, t_aside = time.perf_counter(), None, 0.0    # t_aside: validating, saving
    t_last_save = time.monotonic()
    warm = start + min(5, max(0, (total - start) // 5))    # leave warm-up steps out of samples/s
    end = min(total, req.stop_at) if req.stop_at else total
    sizer = None
    if s.stop.deadline is not None and not sized and start < total:
        sizer = BudgetSizer(start, total, s.stop.remaining())
    stopped, step, first_step_s, fastest_s = None, start, None, float('inf')
    with s.stop:
        while step < end:
            t_step = time.perf_counter()
            batch = next(batches)
            generator.manual_seed(step_seed(cfg_t.seed, info.rank, step))
            draws = objective.draw(batch['action'], generator)   # noise, timesteps, crops
            with autocast(device, cfg_t):
                loss = model(batch['obs'], batch['action'], *draws)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            lr_scheduler.step()
            if ema is not None:
                ema.step(policy)
            loss_sum += loss.detach()
            n_sum += 1
            step = done = step + 1
            bar.update(1)
            if done > warm:       # asynchronous on CUDA: there the mean rate is the figure
                fastest_s = min(fastest_s, time.perf_counter() - t_step)
            if done == start + 1:
                first_step_s = time.perf_counter() - t0
                if cfg_t.compile and say:
                    say(f'train.compile: the first step (compiling the loss step) took '
                        f'{first_step_s:.1f} s')
            if done == warm:
                t0, t_aside = time.perf_counter(), 0.0
            if sizer is not None:     # rank 0 times the pace; every rank takes its decision
                proposal = sizer.observe(done, time.monotonic(), s.stop.remaining())
                new_total = distributed.broadcast_int(proposal or 0, info, device)
                if new_total:
                    sized = True
                    if new_total != total:
                        if say:
                            left = format_duration(s.stop.remaining())
                            say(f'\n--time-limit: {sizer.step_s:.3g} s/step, so {new_total} '
                                f'steps fit in the {left} left; the lr schedule now ends at '
                                f'step {new_total}')
                        total = new_total
                        config = dataclasses.replace(config, train=dataclasses.replace(
                            config.train, steps=total))
                        lr_scheduler = resize_lr_scheduler(lr_scheduler, config.optim, optimizer,
                                                           total, say)
                        end = min(total, req.stop_at) if req.stop_at else total
                        bar.total = total
                        if info.is_main:
                            config.dump(run_dir / 'config.yaml')
                    sizer = None
            reason, due = distributed.max_across_ranks(
                [STOP_REASONS.index(s.stop.reason()),
                 time.monotonic() - t_last_save >= 60 * cfg_t.checkpoint_minutes], info, device)
            stopped = STOP_REASONS[reason]
            finishing = done == end or stopped is not None
            on_grid = done % cfg_t.log_every == 0 or done == total
            if n_sum and (on_grid or finishing):
                last_loss = distributed.mean_across_ranks(loss_sum / n_sum, info)
                loss_sum.zero_()
                n_sum = 0
                if on_grid:    # the history of a resumed run equals an uninterrupted one's
                    logger.scalars(done, last_loss, lr_scheduler.get_last_lr()[0])
                bar.set_postfix(loss=f'{last_loss:.4f}', refresh=False)
            checkpoint = done % cfg_t.checkpoint_every == 0 or due or finishing
            t_aside -= time.perf_counter()
            if checkpoint or done % cfg_t.val_every == 0:
                validate(done)
                if logger.val_history:
                    bar.set_postfix(loss=f'{last_loss:.4f}',
                                    val=f'{logger.val_history[-1][1]:.4f}', refresh=False)
            if checkpoint:
                path = save(done)
                distributed.barrier(info)
                t_last_save = time.monotonic()
            t_aside += time.perf_counter()
            if stopped is not None:
                break
    bar.close()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - t0 - t_aside
    trained = max(0, step - max(start, warm))
    if info.is_main:
        if path is None and ckpt is None:
            path = save(start)
        logger.plot(run_dir / 'loss.png', f'{s.kind} policy, {run_dir.name}')
    logger.close()
    return TrainResult(run_dir=run_dir, checkpoint=latest_path(run_dir) if info.is_main else None,
                       step=max(step, start), final_loss=last_loss,
                       samples_per_s=trained * cfg_t.batch_size / max(elapsed, 1e-9),
                       history=list(logger.history),
                       val_loss=logger.val_history[-1][1] if logger.val_history else None,
                       val_history=list(logger.val_history), stopped=stopped, split=s.split,
                       first_step_s=first_step_s,
                       best_samples_per_s=(cfg_t.batch_size / fastest_s if fastest_s < float('inf')
                                           else None))
