"""`dil-ros demo --offline`: the pipeline without ROS, on the synthetic task of sim/bimodal.py.

scripted expert demonstrations -> LeRobot dataset -> train diffusion policy + MSE baseline ->
export policy.ts / baseline.ts -> closed-loop rollouts of the exported files -> success rates and a
trajectory plot. Everything lands under runs/<name>/.
"""
import shutil
import time

from dil_ros.demo.run_name import run_folder


def _policy_fn(artifact):
    """Batched closed-loop callable around the exported TorchScript module."""
    import torch

    def fn(obs):
        batch = {k: torch.from_numpy(v) for k, v in obs.items()}
        with torch.inference_mode():
            return artifact.module(batch, None).numpy()
    return fn


def run_offline(args) -> int:
    import torch
    from dil_ros.data.lerobot import write_dataset
    from dil_ros.policy.artifact import load_artifact
    from dil_ros.policy.export import export_policy
    from dil_ros.sim import bimodal
    from dil_ros.training.config import config_dir, load_run_config
    from dil_ros.training.restore import load_run
    from dil_ros.training.trainer import TrainRequest, train

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    out = run_folder(args.runs, args.name)
    out.mkdir(parents=True, exist_ok=True)
    config = load_run_config(args.config or config_dir() / 'train_tiny.yaml')
    contract = bimodal.bimodal_contract()

    print(f'[1/5] {args.episodes} scripted demonstrations (left or right of the disc)', flush=True)
    demos = bimodal.make_demonstrations(args.episodes, seed=args.seed)
    dataset = write_dataset(out / 'dataset', demos, fps=bimodal.RATE_HZ, overwrite=True,
                            robot_type='point_2d')
    print(f'      dataset: {out / "dataset"}', flush=True)

    artifacts = {}
    for step_no, (kind, label, file) in enumerate((('diffusion', 'diffusion policy', 'policy.ts'),
                                                   ('regression', 'MSE baseline', 'baseline.ts'))):
        print(f'[{2 + step_no}/5] training the {label}', flush=True)
        run_dir = out / ('diffusion' if kind == 'diffusion' else 'baseline')
        shutil.rmtree(run_dir, ignore_errors=True)
        train(TrainRequest(dataset=out / 'dataset', run_dir=run_dir, config=config,
                           contract=contract, kind=kind, steps=args.steps))
        policy, meta = load_run(run_dir)
        artifacts[label] = export_policy(policy, out / file, meta)
        print(f'      exported {artifacts[label]}', flush=True)
    del dataset

    print(f'[4/5] closed-loop rollouts of the exported files ({args.eval_episodes} episodes each)',
          flush=True)
    results = {}
    for label, path in artifacts.items():
        artifact = load_artifact(path)
        torch.manual_seed(args.seed)
        results[label] = bimodal.rollout(_policy_fn(artifact), seed=args.seed + 1,
                                         batch=args.eval_episodes,
                                         n_obs_steps=artifact.n_obs_steps,
                                         n_action_steps=artifact.n_action_steps)
    print('[5/5] results', flush=True)
    for label, res in results.items():
        s = res.summary()
        print(f'      {label:17s} success {s["success"]:6.1%}  left {s["left"]:6.1%}  '
              f'right {s["right"]:6.1%}  through the disc {s["collided"]:6.1%}')
    plot = out / 'trajectories.png'
    bimodal.plot_trajectories(results, plot, demos=demos[:40])
    print(f'      trajectories: {plot}')
    print(f'      policies:     {", ".join(str(p) for p in artifacts.values())}')
    print(f'      loss plots:   {out / "diffusion" / "loss.png"}, {out / "baseline" / "loss.png"}')
    print(f'done in {time.perf_counter() - t0:.0f} s')
    return 0
