"""atomic_file: the target holds the old or the new content, never half, and no temp file stays."""
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
