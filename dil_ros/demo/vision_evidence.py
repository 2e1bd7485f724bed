"""Evidence that a policy of the vision variant reads the goal from its camera.

Two figures, both cheap enough for the demo's report:

* ``image_reliance``: on episodes the policy was not trained on, the mean error of the last
  action of its chunks (against the expert's recorded chunk, in rad, over every window of each
  episode's second half) when it sees each episode's own frames and when it sees another held-out
  episode's frames (same joint states, same noise). The second half is where the goal decides the
  action: the side of the pillar is settled by then, whereas early chunks of a diffusion policy
  pick a side at random and their error says little about the goal. A policy that ignores the
  image scores the same on both; one that reads the goal from it errs more with the wrong
  frames.
* ``mean_goal_success``: the share of evaluation episodes a policy aiming at the mean goal of the
  demonstrations would reach (goal within the task's tolerance of that mean), the score a closed
  loop success rate must clearly beat.
"""
from typing import Dict, Sequence

import numpy as np


def image_reliance(policy, dataset, contract, episodes: Sequence[int],
                   seed: int = 0) -> Dict[str, float]:
    """Mean |last action - expert's| [rad] over the second-half windows of ``episodes``
    (indices into ``dataset.episodes``, frames attached), with own frames and with the next
    listed episode's frames at the same step (clipped to its length). Needs two or more
    episodes; one too short for a window (a recording cut by a gap) only lends its frames."""
    import torch
    from dil_ros.data.windowing import WindowDataset
    from dil_ros.training.batches import collate
    (camera,) = contract.image_keys[:1] or (None,)
    chosen = [dataset.episodes[i] for i in episodes]
    if camera is None or len(chosen) < 2:
        raise ValueError('image_reliance: needs a camera and at least two episodes')
    to, tp, ta = contract.n_obs_steps, contract.horizon, contract.n_action_steps
    generator = torch.Generator().manual_seed(seed)
    errors = {'own frames': [], 'other episode\'s frames': []}
    for i, episode in enumerate(chosen):
        other = chosen[(i + 1) % len(chosen)].observations[camera]
        windows = WindowDataset([episode], to, tp, ta)
        picks = list(range(len(windows) // 2, len(windows)))
        if not picks:
            continue
        batch = collate([windows[j] for j in picks])
        obs, target = batch['obs'], batch['action']
        # the frame index of each window's obs steps: window j starts at step j - (To - 1)
        steps = np.clip(np.array(picks)[:, None] - (to - 1) + np.arange(to)[None], 0,
                        len(other) - 1)
        swapped = dict(obs)
        swapped[camera] = torch.from_numpy(np.ascontiguousarray(other[steps]))
        noise = torch.randn((len(picks), tp, target.shape[-1]), generator=generator)
        with torch.no_grad():
            for label, shown in (('own frames', obs), ('other episode\'s frames', swapped)):
                chunk = policy(shown, noise)
                errors[label].append(float((chunk[:, -1] - target[:, -1]).abs().mean()))
    if not errors['own frames']:
        raise ValueError('image_reliance: no episode long enough for a window')
    return {label: float(np.mean(v)) for label, v in errors.items()}


def mean_goal_success(train_goals: Sequence[Sequence[float]],
                      eval_goals: Sequence[Sequence[float]], tolerance: float) -> float:
    """Share of ``eval_goals`` within ``tolerance`` of the mean of ``train_goals`` (the
    demonstrations' goals): the success of a policy that always reaches for the mean goal."""
    if not len(train_goals) or not len(eval_goals):
        return float('nan')
    mean = np.mean(np.asarray(train_goals, dtype=float), axis=0)
    dist = np.linalg.norm(np.asarray(eval_goals, dtype=float) - mean, axis=1)
    return float(np.mean(dist <= tolerance))


def chunk_latency_split(policy, obs, calls: int = 20) -> Dict[str, float]:
    """Median wall ms per chunk of the diffusion policy's two parts, TorchScript (as policy.ts
    runs them, unfrozen) on this process's torch threads: the camera encoders with the
    normaliser (``global_cond``) and the DDIM denoising loop (``conditional_sample``); ``obs``
    one batch {key: [1, To, ...]}."""
    import time
    import torch
    from dil_ros.policy.scripting import script
    scripted = script(policy.eval())
    nobs = scripted.normalize_obs(obs)
    noise = torch.randn([1, policy.horizon, policy.action_dim])
    times = {'encoder': [], 'denoising': []}
    with torch.inference_mode():
        for i in range(calls + 3):      # the first calls run TorchScript's profiling passes
            t0 = time.perf_counter()
            cond = scripted.global_cond(scripted.normalize_obs(obs), None)
            t1 = time.perf_counter()
            scripted.conditional_sample(cond, noise)
            t2 = time.perf_counter()
            if i >= 3:
                times['encoder'].append((t1 - t0) * 1e3)
                times['denoising'].append((t2 - t1) * 1e3)
    del nobs
    return {k: float(np.median(v)) for k, v in times.items()}
