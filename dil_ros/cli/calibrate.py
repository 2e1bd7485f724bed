"""`dil-ros calibrate RUN [--episodes DIR_OR_DATASET] [--alpha 0.05]`: the run-time monitor.

Writes ``policy.monitor.ts`` (the scripted scorer, made from RUN's checkpoint and bound to
policy.ts by sha256; its novelty score reads the training dataset's frames) when it is missing or
stale, then, given ``--episodes``, the conformal thresholds ``policy.monitor.json`` from
successful episodes: a directory of ``~/monitor`` logs (``*.jsonl``) or a LeRobot dataset of
rollouts. policy_node reads both with ``monitor: true``.

``--rule constant`` stores one threshold per score (split-conformal on episode maxima);
``--rule time-varying`` also stores a band per score over episode time (monitor/band.py), which
policy_node then applies instead; both need the same number of episodes for a given alpha.
"""
from pathlib import Path

from dil_ros.cli.main import CliError


def add_arguments(parser) -> None:
    parser.add_argument('run', type=Path,
                        help='training run directory, or a `dil-ros demo` directory (policy.ts '
                             'and diffusion/)')
    parser.add_argument('--policy', type=Path, default=None,
                        help='the policy.ts to monitor (default: RUN/policy.ts)')
    parser.add_argument('--episodes', type=Path, default=None,
                        help='successful episodes: a directory of ~/monitor logs (*.jsonl) or a '
                             'LeRobot dataset of rollouts; omitted: only write the scorer')
    parser.add_argument('--alpha', type=float, default=0.05,
                        help='false-alarm rate per episode, shared by the scores (default 0.05)')
    parser.add_argument('--scores', default='denoise,consistency,novelty',
                        help='scores that may alarm (comma list; default all three)')
    parser.add_argument('--dataset', type=Path, default=None,
                        help='training dataset for the novelty score (default: RUN/dataset, as '
                             '`dil-ros demo` writes it; none: novelty is 0)')
    from dil_ros.monitor.band import RULES
    parser.add_argument('--rule', choices=RULES, default=RULES[0],
                        help='time-varying: a conformal band over episode time per score '
                             '(default); constant: one threshold per score for the whole episode')
    parser.add_argument('--rebuild', action='store_true',
                        help='write policy.monitor.ts again even if it is current')


def _run_dirs(run: Path, policy: Path):
    if not run.is_dir():
        raise CliError(f'{run}: run directory not found')
    train_dir = run if (run / 'checkpoints').is_dir() else run / 'diffusion'
    if not (train_dir / 'checkpoints').is_dir():
        raise CliError(f'{run}: no checkpoints/ (nor diffusion/checkpoints/): not a training '
                       f'or demo run')
    policy = policy or run / 'policy.ts'
    if not policy.is_file():
        raise CliError(f'{policy}: policy file not found (export it with `dil-ros export`)')
    return train_dir, policy


def run(args) -> int:
    from dil_ros.monitor import band, calibration, conformal
    from dil_ros.monitor.sibling import ALL_SCORES, load_monitor, MonitorError, write_thresholds

    if not 0.0 < args.alpha < 1.0:
        raise CliError(f'--alpha: must be in (0, 1), got {args.alpha}')
    wanted = [s for s in args.scores.split(',') if s]
    unknown = sorted(set(wanted) - set(ALL_SCORES))
    if unknown or not wanted:
        raise CliError(f'--scores: unknown {unknown or "(empty)"} (choose from {ALL_SCORES})')
    if args.episodes is not None and not args.episodes.exists():
        raise CliError(f'{args.episodes}: episodes directory not found')
    train_dir, policy_ts = _run_dirs(args.run, args.policy)
    try:
        scorer, meta = (None, None) if args.rebuild else load_monitor(policy_ts)
    except MonitorError:
        scorer = None
    if scorer is None:
        _build(train_dir, policy_ts, args.dataset)
        scorer, meta = load_monitor(policy_ts)
    if args.episodes is None:
        return 0
    if (args.episodes / 'meta' / 'info.json').is_file():
        episodes = calibration.replay_dataset(args.episodes, policy_ts, scorer,
                                              meta['monitor']['action_scale'])
    else:
        episodes = calibration.read_logs(args.episodes)
    maxima = {k: v for k, v in calibration.episode_maxima(episodes).items() if k in wanted}
    missing = sorted(set(wanted) - set(maxima))
    if missing:
        raise CliError(f'{args.episodes}: no finite values of {missing} in any episode')
    values = conformal.thresholds(maxima, args.alpha, str(args.episodes))
    bands = None
    if args.rule == 'time-varying':
        try:
            bands = band.calibrate_bands(episodes, list(values), args.alpha,
                                         calibration.EPISODE_TIME, str(args.episodes))
        except conformal.CalibrationError as exc:
            raise CliError(str(exc)) from None
    out = write_thresholds(policy_ts, values, {
        'alpha': args.alpha, 'alpha_per_score': args.alpha / len(values),
        'episodes': len(episodes), 'source': str(args.episodes),
        'rule': 'episode max' if bands is None else 'time-varying band'}, bands)
    for name, value in values.items():
        line = (f'threshold {value:.4g}' if bands is None else
                f'band multiplier {bands[name].multiplier:.3g} (threshold at 0 s '
                f'{bands[name].threshold(0.0):.4g}, at {bands[name].times[-1]:.1f} s '
                f'{bands[name].threshold(bands[name].times[-1]):.4g})')
        print(f'  {name:12s} {line} ({len(maxima[name])} episodes, alpha '
              f'{args.alpha / len(values):.3g})')
    print(f'wrote {out}')
    return 0


def _build(train_dir: Path, policy_ts: Path, dataset) -> None:
    from dil_ros.monitor.scores import normalised_frames
    from dil_ros.monitor.sibling import export_monitor
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.training.restore import load_run

    meta = load_artifact(policy_ts).meta
    policy, _ = load_run(train_dir, ema=bool(meta.get('ema', True)),
                         num_inference_steps=int(meta['num_inference_steps']))
    frames = None
    root = dataset or _training_dataset(train_dir)
    if root is not None:
        from dil_ros.data.lerobot import read_dataset
        frames = normalised_frames(policy, [e.observations for e in
                                            read_dataset(root, images=False).episodes])
    camera = None
    if root is not None and list(policy.vision.keys):   # camera_novelty: the encoder's features
        from dil_ros.contract import load_contract
        from dil_ros.data.lerobot import read_dataset
        from dil_ros.monitor.scores import camera_features
        from dil_ros.training.frames import attach_camera_frames
        data = read_dataset(root, keys=list(policy.obs_keys))
        attach_camera_frames(data, load_contract(train_dir / 'contract.yaml'))
        camera = camera_features(policy, [e.observations for e in data.episodes])
    out = export_monitor(policy, policy_ts, frames, train_camera=camera)
    print(f'wrote {out} (novelty from {root or "no dataset: novelty off"}'
          f'{"; camera_novelty from its frames" if camera is not None else ""})')


def _training_dataset(train_dir: Path):
    """The demo layout's dataset (RUN/dataset beside RUN/diffusion), if present."""
    for root in (train_dir / 'dataset', train_dir.parent / 'dataset'):
        if (root / 'meta' / 'info.json').is_file():
            return root
    return None
