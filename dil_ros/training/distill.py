"""Consistency distillation: a 1-3 step student from a trained diffusion run (``dil-ros distill``).

Why consistency distillation (Song et al. 2023; Consistency Policy, Prasad et al. 2024) rather
than OneDP's distribution matching: it needs the teacher and the student alone (OneDP also trains
a second "fake score" network beside the student, with its own optimiser and schedule), its loss
is a plain regression that the trainer's pieces (batches, EMA, lr schedule, checkpoints,
TensorBoard) run unchanged, and the student keeps the teacher's ODE map from noise to chunk, so a
noise draw still picks one mode (round the pillar one way or the other) instead of averaging them.

The student is an ordinary DiffusionPolicy with the teacher's network and normaliser, started from
the teacher's EMA weights, that predicts the clean chunk (``prediction_type: sample``) and samples
with diffusers' 'trailing' spacing (1 step: t = 99 on pure noise; 2: 99, 49; 3: 99, 66, 33), so
``dil-ros export`` writes a normal policy.ts for it and policy_node runs it unchanged.

One step of the loss, for a batch of (observation, chunk x0) windows::

    grid  t_0 > t_1 > ... > t_{K-1}    the teacher's DDIM-K trailing grid (--teacher-steps K)
    n     ~ U{0..K-1}, z ~ N(0, I)
    x_n   = sqrt(ā_n) x0 + sqrt(1 - ā_n) z
    x_n+1 = DDIM step of the teacher from t_n (deterministic; n = K-1 lands on the clean chunk)
    target = x_n+1                           if n = K-1 (the boundary: f(x, clean) = x)
           = clip(f_θ⁻(x_n+1, t_n+1))        else (θ⁻ = θ without gradient, as in improved
                                                 consistency training; an EMA target with the
                                                 training EMA's 0.999 would need thousands of
                                                 steps per link of the chain on a CPU)
    loss  = || f_θ(x_n, t_n) - target ||²

Checkpoints have the training format (kind 'diffusion'; the student's policy config), plus
``distill`` (teacher run, teacher step, grid), so ``--resume`` and ``dil-ros export`` work as for a
trained run. Every draw of step s comes from a generator seeded with (seed, s): a resumed run ends
where an uninterrupted one ends.
"""
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn
import yaml

from dil_ros.errors import DilRosError
from dil_ros.policy.ddim import DDIMSampler
from dil_ros.training.checkpoint import (FORMAT, latest_path, load_checkpoint,
                                         restore_training_state, rng_state, save_atomic)


class DistillError(DilRosError, ValueError):
    """A distillation cannot start or resume; the message names the run directory."""


@dataclass
class DistillRequest:
    teacher: Path                   # trained diffusion run directory
    out: Path                       # student run directory (created, or resumed)
    steps: int = 1                  # student sampling steps, 1-3
    train_steps: int = 2000         # optimisation steps
    teacher_steps: int = 10         # K: the teacher's ODE grid
    batch_size: Optional[int] = None   # None: the teacher's
    lr: float = 3e-4
    resume: bool = False
    progress: bool = True
    seed: int = 0
    extend: bool = False            # with resume: train_steps extends the run to that many steps
    stop_at: Optional[int] = None   # stop early with a checkpoint, as Ctrl+C would (tests)
    checkpoint_every: int = 500
    log_every: int = 25


@dataclass
class DistillResult:
    out: Path
    step: int
    final_loss: float
    history: List
    stopped: Optional[str] = None


class ConsistencyDistillation(nn.Module):
    """The loss of the module docstring; ``draw`` makes a step's random draws."""

    def __init__(self, teacher: nn.Module, student: nn.Module, teacher_steps: int):
        super().__init__()
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        cfg = teacher.config
        grid = DDIMSampler(cfg.num_train_timesteps, teacher_steps, cfg.beta_schedule,
                           cfg.prediction_type, cfg.clip_sample, cfg.clip_sample_range,
                           cfg.beta_start, cfg.beta_end, timestep_spacing='trailing')
        self.grid = grid
        self.k = teacher_steps
        self.clip = float(student.config.clip_sample_range)
        for name in ('sqrt_a_t', 'sqrt_b_t', 'sqrt_a_prev', 'sqrt_b_prev'):
            self.register_buffer(name, torch.tensor(getattr(grid, name)), persistent=False)
        self.register_buffer('t', grid.timesteps.clone(), persistent=False)

    def draw(self, action: torch.Tensor, generator: torch.Generator):
        noise = torch.randn(action.shape, generator=generator, device=action.device)
        n = torch.randint(0, self.k, (action.shape[0],), generator=generator,
                          device=action.device)
        return noise, n

    def _teacher_step(self, x: torch.Tensor, n: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """One deterministic DDIM step of the teacher per sample, from grid point n to n + 1."""
        def col(v):
            return v[n].view(-1, 1, 1)
        out = self.teacher.model(x, self.t[n], global_cond=cond)
        if self.grid.epsilon:
            x0, eps = (x - col(self.sqrt_b_t) * out) / col(self.sqrt_a_t), out
        else:
            x0, eps = out, (x - col(self.sqrt_a_t) * out) / col(self.sqrt_b_t)
        if self.grid.clip_sample:
            x0 = x0.clamp(-self.grid.clip_sample_range, self.grid.clip_sample_range)
        return col(self.sqrt_a_prev) * x0 + col(self.sqrt_b_prev) * eps

    def forward(self, obs: Dict[str, torch.Tensor], action: torch.Tensor, noise: torch.Tensor,
                n: torch.Tensor) -> torch.Tensor:
        student = self.student
        nobs = student.normalize_obs(obs)
        cond = student.global_cond(nobs, None)
        x0 = student.normalizer.normalize('action', action)
        x_n = self.sqrt_a_t[n].view(-1, 1, 1) * x0 + self.sqrt_b_t[n].view(-1, 1, 1) * noise
        with torch.no_grad():
            tcond = self.teacher.global_cond(self.teacher.normalize_obs(obs), None)
            x_next = self._teacher_step(x_n, n, tcond)
            n_next = (n + 1).clamp(max=self.k - 1)
            f_next = student.model(x_next, self.t[n_next], global_cond=cond.detach())
            last = (n == self.k - 1).view(-1, 1, 1)
            target = torch.where(last, x_next, f_next.clamp(-self.clip, self.clip))
        pred = student.model(x_n, self.t[n], global_cond=cond)
        return F.mse_loss(pred.float(), target.float())


def student_config(teacher_config, steps: int):
    """The teacher's policy config, predicting the clean chunk in ``steps`` trailing steps."""
    if not 1 <= steps <= 3:
        raise DistillError(f'--steps: a distilled student samples in 1-3 steps, got {steps}')
    data = {**teacher_config.to_dict(), 'prediction_type': 'sample',
            'num_inference_steps': int(steps), 'timestep_spacing': 'trailing'}
    return type(teacher_config).from_dict(data, f'{teacher_config.source} (student)')


def distill(req: DistillRequest) -> DistillResult:
    """Distil (or resume distilling) ``req.teacher`` into ``req.out``; see the module docstring."""
    from tqdm import tqdm

    from dil_ros.contract import contract_from_mapping
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.data.windowing import WindowDataset
    from dil_ros.training.batches import IndexStream, batch_iterator
    from dil_ros.training.builder import build_policy, camera_specs
    from dil_ros.training.config import run_config_from_mapping
    from dil_ros.training.distributed import DistInfo, resolve_device
    from dil_ros.training.ema import EMAModel
    from dil_ros.training.frames import attach_camera_frames
    from dil_ros.training.logger import RunLogger
    from dil_ros.training.restore import policy_from_checkpoint
    from dil_ros.training.schedule import make_lr_scheduler
    from dil_ros.training.speed import make_optimizer
    from dil_ros.training.stopping import StopRequest

    out = Path(req.out)
    ckpt = None
    if req.resume:
        ckpt = load_checkpoint(out)
        if 'distill' not in ckpt:
            raise DistillError(f'{out}: not a distilled run (train it with `dil-ros train '
                               '--resume`)')
        teacher_dir = Path(ckpt['distill']['teacher'])
    else:
        if latest_path(out).exists():
            raise DistillError(f'{out}: already holds a checkpoint; pass --resume to continue '
                               'it or choose another --out')
        teacher_dir = Path(req.teacher)
    state = load_checkpoint(teacher_dir)
    source = str(latest_path(teacher_dir))
    if state['kind'] != 'diffusion':
        raise DistillError(f'{teacher_dir}: a {state["kind"]} run; only a diffusion policy can '
                           'be distilled')
    teacher = policy_from_checkpoint(state, ema=True, source=source)
    if ckpt is not None:
        config = run_config_from_mapping(ckpt['config'], f'{latest_path(out)}: config')
        info = ckpt['distill']
        extend = int(req.train_steps) if req.extend else config.train.steps
        if extend < config.train.steps:
            raise DistillError(f'{out}: --train-steps {extend} is below the run\'s '
                               f'{config.train.steps}; a run can only be extended')
    else:
        tconfig = run_config_from_mapping(state['config'], f'{source}: config')
        scfg = student_config(teacher.config, req.steps)
        train = dataclasses.replace(tconfig.train, steps=int(req.train_steps),
                                    batch_size=int(req.batch_size or tconfig.train.batch_size),
                                    seed=int(req.seed), checkpoint_every=req.checkpoint_every,
                                    log_every=req.log_every)
        optim = dataclasses.replace(tconfig.optim, lr=float(req.lr))
        config = dataclasses.replace(tconfig, policy=scfg, train=train, optim=optim)
        info = {'teacher': str(teacher_dir.resolve()), 'teacher_step': int(state['step']),
                'teacher_steps': int(req.teacher_steps), 'method': 'consistency distillation'}
    contract = contract_from_mapping(state['contract'], f'{source}: contract')
    dataset_path = Path(state.get('dataset', ''))
    if not dataset_path.is_dir():
        raise DistillError(f'{source}: the teacher\'s dataset {dataset_path} is not there; the '
                           'student trains on the same windows')
    dataset = read_dataset(dataset_path, keys=contract.lowdim_keys or contract.image_keys[:1])
    attach_camera_frames(dataset, contract)
    if dataset.fingerprint != state['dataset_fingerprint']:
        raise DistillError(f'{dataset_path}: differs from the dataset {teacher_dir} was trained '
                           'on (fingerprint mismatch)')
    split = state.get('split') or {'train': list(range(len(dataset.episodes))), 'val': []}
    pcfg, cfg_t = config.policy, config.train
    windows = WindowDataset([dataset.episodes[i] for i in split['train']], pcfg.n_obs_steps,
                            pcfg.horizon, pcfg.n_action_steps)
    torch.set_num_threads(max(1, cfg_t.cpu_threads or 1))
    device = resolve_device(cfg_t.device, DistInfo())
    student = build_policy('diffusion', pcfg, config.regression, state['obs_dims'],
                           state['action_dim'], state['stats'], camera_specs(contract),
                           config.vision)
    student.load_state_dict(teacher.state_dict())     # the teacher's EMA weights to start from
    student, teacher = student.to(device).train(), teacher.to(device)
    loss_fn = ConsistencyDistillation(teacher, student, int(info['teacher_steps'])).to(device)
    optimizer = make_optimizer(student.parameters(), config.optim, device)
    lr_scheduler = make_lr_scheduler(config.optim, optimizer, cfg_t.steps)
    ema = EMAModel(student, config.ema) if config.ema.enabled else None
    start, history = 0, []
    if ckpt is not None:
        start, history = restore_training_state(ckpt, student, optimizer, lr_scheduler, ema)
        if extend > cfg_t.steps:      # longer than planned: the lr schedule is resized to fit
            from dil_ros.training.schedule import resize_lr_scheduler
            config = dataclasses.replace(config, train=dataclasses.replace(cfg_t, steps=extend))
            cfg_t = config.train
            lr_scheduler = resize_lr_scheduler(lr_scheduler, config.optim, optimizer, extend)
    out.mkdir(parents=True, exist_ok=True)
    config.dump(out / 'config.yaml')
    (out / 'contract.yaml').write_text(yaml.safe_dump(contract.to_mapping(), sort_keys=False))
    logger = RunLogger(out, True, history, [])

    def save(step: int) -> Path:
        return save_atomic({
            'format': FORMAT, 'kind': 'diffusion', 'step': step, 'model': student.state_dict(),
            'ema': ema.state_dict() if ema else None, 'optimizer': optimizer.state_dict(),
            'lr_scheduler': lr_scheduler.state_dict(), 'scaler': None, 'rng': rng_state(),
            'config': config.to_dict(), 'stats': state['stats'], 'obs_dims': state['obs_dims'],
            'action_dim': state['action_dim'], 'contract': state['contract'],
            'dataset_fingerprint': state['dataset_fingerprint'], 'dataset': str(dataset_path),
            'split': state.get('split'), 'time_sized': False, 'distill': info,
            'history': [list(h) for h in logger.history], 'val_history': []}, latest_path(out))

    print(f'distilling {teacher_dir} (step {state["step"]}) into a {pcfg.num_inference_steps}-'
          f'step student by consistency distillation on the teacher\'s DDIM-'
          f'{info["teacher_steps"]} grid: {len(windows)} windows, steps {start} -> {cfg_t.steps}, '
          f'batch {cfg_t.batch_size} on {device}', flush=True)
    stream = IndexStream(len(windows), cfg_t.batch_size, cfg_t.seed, DistInfo())
    batches = batch_iterator(windows, stream, start, device, 0)
    generator = torch.Generator(device=device)
    bar = tqdm(total=cfg_t.steps, initial=start, disable=not req.progress,
               desc='distill', dynamic_ncols=True, mininterval=1.0)
    step, stopped, loss_sum, n_sum, last = start, None, 0.0, 0, float('nan')
    t_save = time.monotonic()
    end = min(cfg_t.steps, req.stop_at) if req.stop_at else cfg_t.steps
    with StopRequest(None) as stop:
        while step < end:
            batch = next(batches)
            generator.manual_seed((cfg_t.seed * 1000003 + step) % (2 ** 63))
            loss = loss_fn(batch['obs'], batch['action'], *loss_fn.draw(batch['action'],
                                                                         generator))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            lr_scheduler.step()
            if ema is not None:
                ema.step(student)
            step += 1
            loss_sum, n_sum = loss_sum + float(loss.detach()), n_sum + 1
            bar.update(1)
            stopped = stop.reason() or ('stopped' if step == end < cfg_t.steps else None)
            if step % cfg_t.log_every == 0 or step == cfg_t.steps or stopped:
                last, loss_sum, n_sum = loss_sum / max(n_sum, 1), 0.0, 0
                if step % cfg_t.log_every == 0 or step == cfg_t.steps:
                    logger.scalars(step, last, lr_scheduler.get_last_lr()[0])
                bar.set_postfix(loss=f'{last:.4f}', refresh=False)
            if (step % cfg_t.checkpoint_every == 0 or step == cfg_t.steps or stopped
                    or time.monotonic() - t_save >= 60 * cfg_t.checkpoint_minutes):
                save(step)
                t_save = time.monotonic()
            if stopped:
                break
    bar.close()
    if ckpt is None and step == start:
        save(step)
    logger.plot(out / 'loss.png', f'consistency distillation, {out.name}')
    logger.close()
    return DistillResult(out, step, last, list(logger.history), stopped)


def checkpoint_facts(run_dir: Path) -> Dict[str, Any]:
    """The ``distill`` entry of a student's checkpoint ({} for a trained run)."""
    return dict(load_checkpoint(run_dir).get('distill') or {})
