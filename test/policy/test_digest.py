"""sha256 of files and of archives' content (what binds forms to policy.ts)."""
import hashlib
import shutil
import subprocess
import zipfile

import pytest
import torch

from dil_ros.policy.digest import archive_sha256, file_sha256, sidecar_path, write_sha256_file


def test_sidecar_is_sha256sum_format(tmp_path):
    path = tmp_path / 'policy.ts'
    path.write_bytes(b'some policy bytes')
    digest = write_sha256_file(path)
    assert digest == hashlib.sha256(b'some policy bytes').hexdigest() == file_sha256(path)
    assert sidecar_path(path).read_text() == f'{digest}  policy.ts\n'
    if shutil.which('sha256sum'):
        check = subprocess.run(['sha256sum', '-c', 'policy.ts.sha256'], cwd=tmp_path,
                               capture_output=True, text=True)
        assert check.returncode == 0 and 'policy.ts: OK' in check.stdout
        path.write_bytes(b'other bytes')
        assert subprocess.run(['sha256sum', '-c', 'policy.ts.sha256'], cwd=tmp_path,
                              capture_output=True).returncode != 0


def _save(module, path, meta):
    torch.jit.save(module, str(path), _extra_files={'dil_ros.json': meta})
    return path


def test_archive_sha256_ignores_metadata_and_save_id_but_not_weights(tmp_path):
    module = torch.jit.script(torch.nn.Linear(2, 2))
    a = archive_sha256(_save(module, tmp_path / 'a.ts', '{"x": 1}'))
    assert file_sha256(tmp_path / 'a.ts') != file_sha256(_save(module, tmp_path / 'b.ts', '{}'))
    assert archive_sha256(tmp_path / 'b.ts') == a          # same module, other file and metadata
    with torch.no_grad():
        module.weight[0, 0] += 1e-3
    assert archive_sha256(_save(module, tmp_path / 'c.ts', '{"x": 1}')) != a


def test_archive_sha256_of_a_non_archive_raises(tmp_path):
    (tmp_path / 'x.ts').write_bytes(b'not a zip')
    with pytest.raises(zipfile.BadZipFile):
        archive_sha256(tmp_path / 'x.ts')
