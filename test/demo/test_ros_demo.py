"""`dil-ros demo`: the real pipeline over DDS, shrunk to a smoke test (3 demonstrations, 20
training steps, 2 closed-loop episodes). The nodes run as processes, as in `make demo`."""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


def test_ros_demo_end_to_end(tmp_path):
    pytest.importorskip('rclpy')
    pytest.importorskip('mujoco')
    # A domain of its own: nodes left by other tests of this process stay out of the demo.
    env = dict(os.environ, ROS_DOMAIN_ID=str(os.getpid() % 100 + 1))
    cmd = [sys.executable, '-m', 'dil_ros.cli.main', 'demo', '--name', 'smoke', '--runs',
           str(tmp_path), '--episodes', '3', '--steps', '20', '--eval-episodes', '2',
           '--baseline-episodes', '1', '--video-episodes', '0']
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = tmp_path / 'smoke'
    summary = json.loads((run / 'summary.json').read_text())
    assert summary['record']['kept'] >= 2                       # the expert rarely fails
    assert summary['dataset']['episodes'] == summary['record']['kept']
    evaluation = summary['evaluation']
    assert evaluation['diffusion']['episodes'] == 2 and evaluation['baseline']['episodes'] == 1
    assert evaluation['diffusion']['inference_latency_ms']['p50'] > 0   # chunks were computed
    assert int(evaluation['diffusion']['policy_node_diagnostics']['chunks']) > 0
    for name in ('policy.ts', 'baseline.ts', 'trajectories.png', 'latency.png',
                 'demos/episodes.json', 'dataset/meta/info.json'):
        assert (run / name).is_file(), name
    assert 'diffusion  success' in proc.stdout
