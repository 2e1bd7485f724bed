"""Scores of successful calibration episodes -> conformal thresholds (policy.monitor.json).

Two sources, both episodes the policy ran successfully:
- a directory of ``*.jsonl`` monitor logs, one file per episode, one ``~/monitor`` message
  (policy_node, ``monitor: true``) per line, as bench/bench_monitor.py writes them;
- a LeRobot dataset of successful rollouts: every ``n_action_steps`` frames the policy samples a
  chunk from the observation window (fixed noise per episode) and the chunk is scored, as the node
  would (offline replay; the scores see the recorded observations, not the policy's own motion).

Each episode is {score: [value per chunk], EPISODE_TIME: [s since the episode's first chunk]}.
"""
import json
from pathlib import Path
from typing import Dict, List, Union

import numpy as np

from dil_ros.monitor.conformal import CalibrationError
from dil_ros.monitor.consistency import chunk_disagreement
from dil_ros.monitor.sibling import ALL_SCORES, CONSISTENCY
from dil_ros.monitor.scores import SCORE_NAMES

EPISODE_TIME = 'episode_time'


def read_logs(directory: Union[str, Path]) -> List[Dict[str, List[float]]]:
    """[{score: [value per chunk]}] per episode file; errors name the file and line."""
    directory = Path(directory)
    files = sorted(directory.glob('*.jsonl'))
    if not files:
        raise CalibrationError(f'{directory}: no *.jsonl monitor logs (and not a LeRobot '
                               f'dataset: no meta/info.json)')
    episodes = []
    for path in files:
        scores: Dict[str, List[float]] = {}
        stamps: List[float] = []
        for no, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                items = record['scores'].items()
                stamp = float(record['stamp'])
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                raise CalibrationError(f'{path}:{no}: not a ~/monitor message '
                                       f'({type(exc).__name__}: {exc})') from None
            stamps.append(stamp)
            for name, value in items:
                if name not in ALL_SCORES:
                    raise CalibrationError(f'{path}:{no}: unknown score {name!r} '
                                           f'(known: {ALL_SCORES})')
                scores.setdefault(name, []).append(float('nan') if value is None
                                                   else float(value))
        if not scores:
            raise CalibrationError(f'{path}: no scored chunks')
        if any(len(v) != len(stamps) for v in scores.values()):
            raise CalibrationError(f'{path}: every line needs every score (null when none)')
        scores[EPISODE_TIME] = [s - stamps[0] for s in stamps]
        episodes.append(scores)
    return episodes


def replay_dataset(root: Union[str, Path], policy_ts: Union[str, Path], scorer,
                   action_scale, seed: int = 0) -> List[Dict[str, List[float]]]:
    """Score a LeRobot dataset's episodes offline (see the module docstring)."""
    import torch

    from dil_ros.data.lerobot import read_dataset
    from dil_ros.policy.artifact import load_artifact
    artifact = load_artifact(policy_ts)
    dataset = read_dataset(root)
    to, ta, dt = artifact.n_obs_steps, artifact.n_action_steps, 1.0 / float(
        artifact.meta['contract']['rate_hz'])
    gen = torch.Generator().manual_seed(seed)
    episodes = []
    for episode in dataset.episodes:
        missing = [k for k in artifact.obs_dims if k not in episode.observations]
        if missing:
            raise CalibrationError(f'{root}: episode has no {missing} (policy needs '
                                   f'{sorted(artifact.obs_dims)})')
        length = len(episode.action)
        scores: Dict[str, List[float]] = {n: [] for n in ALL_SCORES}
        prev = None
        for t in range(0, length, ta):
            idx = np.clip(np.arange(t - to + 1, t + 1), 0, length - 1)
            obs = {k: torch.as_tensor(np.asarray(episode.observations[k])[idx][None],
                                      dtype=torch.float32) for k in artifact.obs_dims}
            noise = torch.randn(1, artifact.horizon, artifact.action_dim, generator=gen)
            with torch.inference_mode():
                actions = artifact.module(obs, noise)
                values = scorer(obs, actions)[0].tolist()
            chunk = actions[0].numpy().astype(np.float64)
            for name, value in zip(SCORE_NAMES, values):
                scores[name].append(value)
            stamp = t * dt
            scores[CONSISTENCY].append(chunk_disagreement(
                prev[0] if prev else None, prev[1] if prev else None, stamp, chunk, dt, to,
                action_scale))
            prev = (stamp, chunk)
        scores[EPISODE_TIME] = [t * dt for t in range(0, length, ta)]
        episodes.append(scores)
    return episodes


def episode_maxima(episodes: List[Dict[str, List[float]]]) -> Dict[str, List[float]]:
    """{score: [max over the episode's finite values]} (episodes without any: left out)."""
    out: Dict[str, List[float]] = {}
    for scores in episodes:
        for name, values in scores.items():
            if name == EPISODE_TIME:
                continue
            finite = [v for v in values if np.isfinite(v)]
            if finite:
                out.setdefault(name, []).append(max(finite))
    return out
