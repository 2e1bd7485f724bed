"""`dil-ros demo --offline` runs the whole pipeline without ROS (tiny settings here)."""
from dil_ros.cli.main import main


def test_demo_smoke(tmp_path, capsys):
    rc = main(['demo', '--offline', '--name', 'smoke', '--runs', str(tmp_path), '--episodes', '6',
               '--steps', '20', '--eval-episodes', '4'])
    out = capsys.readouterr().out
    assert rc == 0, out
    run = tmp_path / 'smoke'
    for name in ('policy.ts', 'baseline.ts', 'trajectories.png', 'dataset/meta/info.json',
                 'diffusion/loss.png', 'baseline/checkpoints/latest.pt'):
        assert (run / name).is_file(), name
    assert 'diffusion policy  success' in out and 'MSE baseline      success' in out


def test_demo_rejects_bad_flags(capsys):
    assert main(['demo', '--episodes', '0']) == 1
    assert '--episodes must be >= 1' in capsys.readouterr().err
