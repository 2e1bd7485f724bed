"""`dil-ros demo --vision`'s first two phases over DDS: the expert's demonstrations recorded with
the sim's camera (no goal topic) convert into a dataset whose only observations are the joint
state and the camera's frames."""
import os

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def test_vision_flag_needs_ros(capsys):
    from dil_ros.cli.main import main
    assert main(['demo', '--vision', '--offline']) == 1
    assert '--vision runs over ROS 2 with the MuJoCo sim' in capsys.readouterr().err


def test_vision_demonstrations_record_and_convert_with_frames(ros_context, tmp_path):
    pytest.importorskip('mujoco')
    from dil_ros.contract import load_contract
    from dil_ros.data.convert import ConvertOptions, convert_bags
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.demo import vision
    from dil_ros.demo.record import record_demonstrations
    os.environ.setdefault('MUJOCO_GL', 'egl')
    contract = load_contract(vision.contract_path())
    rec = record_demonstrations(tmp_path / 'demos', str(vision.contract_path()), 3, 0, 2.0,
                                tmp_path / 'logs', vision.sim_params(contract))
    assert rec['kept'] >= 2 and len(rec['goals']) == rec['kept'], rec
    sim_log = (tmp_path / 'logs' / 'sim_node.log').read_text()
    if 'cameras off' in sim_log:
        pytest.skip(sim_log.splitlines()[-1])
    report = convert_bags([tmp_path / 'demos'], contract, tmp_path / 'dataset', ConvertOptions())
    dataset = read_dataset(tmp_path / 'dataset')
    assert len(dataset.episodes) >= 2, report.summary()
    (key,) = contract.image_keys
    height, width, _ = contract.image_shapes[key]
    for episode in dataset.episodes:
        assert sorted(episode.observations) == [key, 'observation.state']
        frames = episode.observations[key]
        steps = len(episode.observations['observation.state'])
        assert frames.dtype == np.uint8 and frames.shape == (steps, height, width, 3)
        assert np.abs(np.diff(frames.astype(int), axis=0)).max() > 50   # the arm moves in view


def test_vision_demo_end_to_end(tmp_path):
    """`dil-ros demo --vision` through every phase (3 demonstrations, 3 training steps with the
    vision preset for both policies, one closed-loop episode of each from the camera, one video
    episode, the report with the image evidence and the chunk time split)."""
    import json
    import subprocess
    import sys
    pytest.importorskip('rclpy')
    pytest.importorskip('mujoco')
    env = dict(os.environ, ROS_DOMAIN_ID=str(os.getpid() % 100 + 1))
    cmd = [sys.executable, '-m', 'dil_ros.cli.main', 'demo', '--vision', '--name', 'vision',
           '--runs', str(tmp_path), '--episodes', '3', '--steps', '3', '--eval-episodes', '1',
           '--baseline-episodes', '1', '--video-episodes', '1']
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    run = tmp_path / 'vision'
    sim_log = run / 'logs' / 'record' / 'sim_node.log'
    if sim_log.is_file() and 'cameras off' in sim_log.read_text():
        pytest.skip('no GL: ' + sim_log.read_text().splitlines()[-1])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((run / 'summary.json').read_text())
    assert summary['contract'].endswith('mujoco_arm_vision.yaml')
    assert list(summary['evaluation']) == ['diffusion', 'baseline']
    for kind in ('diffusion', 'baseline'):   # both from the camera, through policy_node
        evaluation = summary['evaluation'][kind]
        assert evaluation['episodes'] == 1
        assert int(evaluation['policy_node_diagnostics']['chunks']) > 0
    split = summary['vision']['diffusion_chunk_ms']
    assert split['encoder'] > 0 and split['denoising'] > 0
    assert 0.0 <= summary['vision']['mean_goal_success'] <= 1.0
    report = (run / 'report.txt').read_text()
    assert 'encoder' in report and 'mean goal' in report and 'baseline' in report
    info = json.loads((run / 'dataset' / 'meta' / 'info.json').read_text())
    assert info['features']['observation.images.top']['dtype'] == 'video'
    assert 'observation.environment_state' not in info['features']
    from dil_ros.contract import load_contract
    from dil_ros.demo import vision
    from dil_ros.policy.artifact import load_artifact
    shapes = {'observation.images.top': list(load_contract(vision.contract_path()).image_shapes[
        'observation.images.top'])}
    for name in ('policy.ts', 'baseline.ts'):
        assert load_artifact(run / name).image_shapes == shapes, name
    for name in ('policy.ts', 'baseline.ts', 'trajectories.png', 'latency.png', 'rollouts.mp4',
                 'report.txt'):
        assert (run / name).is_file(), name
