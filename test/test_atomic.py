"""atomic_file: the target holds the old or the new content, never half, and no temp file stays;
new files (and every output file of the package) get the umask's mode, not 0600."""
import os
import stat

import numpy as np
import pytest

from dil_ros.atomic import atomic_file


def test_replaces_on_success_and_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / 'sub' / 'index.json'
    with atomic_file(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text('new')
    assert target.read_text() == 'new'
    with pytest.raises(OSError):
        with atomic_file(target) as tmp:
            tmp.write_text('half')
            raise OSError(28, 'No space left on device')
    assert target.read_text() == 'new'
    assert sorted(p.name for p in target.parent.iterdir()) == ['index.json']


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize('umask, expected', [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_file_gets_the_umask_mode(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        with atomic_file(tmp_path / 'policy.ts') as tmp:
            tmp.write_bytes(b'x')
    finally:
        os.umask(old)
    assert mode(tmp_path / 'policy.ts') == expected


def test_every_output_file_is_readable_by_others(tmp_path, umask_022):
    """Checkpoints, sha256 sidecars, recording index and episodes, datasets: 0644 under 022."""
    import torch

    from dil_ros.data.episode import Episode
    from dil_ros.data.lerobot import write_dataset
    from dil_ros.policy.digest import write_sha256_file
    from dil_ros.recording import Recorder, Session
    from dil_ros.training.checkpoint import save_atomic
    save_atomic({'step': torch.tensor(1)}, tmp_path / 'run' / 'latest.pt')
    write_sha256_file(tmp_path / 'run' / 'latest.pt')
    episode = Episode({'observation.state': np.zeros((5, 2))}, np.zeros((5, 2)), np.arange(5) / 10)
    write_dataset(tmp_path / 'data', [episode], fps=10.0)
    rec = Recorder(Session(tmp_path / 'demos'), {'/note': 'std_msgs/msg/String'})
    assert rec.start()[0]
    rec.put('/note', bytes([0, 1, 0, 0, 2, 0, 0, 0, 120, 0]))
    assert rec.stop()[0]
    files = [p for p in tmp_path.rglob('*') if p.is_file()]
    assert {p.name for p in files} >= {'latest.pt', 'latest.pt.sha256', 'info.json',
                                       'episodes.json', 'metadata.yaml'}
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in files
            if mode(p) != 0o644} == {}
