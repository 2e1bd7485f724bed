"""InferenceWorker: batches of one, camera frames handed over as uint8."""
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from dil_ros.control.inference import InferenceWorker  # noqa: E402


def test_frames_stay_uint8_and_state_becomes_float32():
    seen = {}

    def policy(batch, noise):
        seen.update({k: (v.dtype, tuple(v.shape)) for k, v in batch.items()})
        mean = batch['observation.images.front'].float().mean()
        return (batch['observation.state'][:, -1:, :] + mean).repeat(1, 4, 1)

    worker = InferenceWorker(policy)
    try:
        frames = np.full((2, 6, 8, 3), 200, np.uint8)
        out = worker.infer({'observation.state': np.zeros((2, 3)),
                            'observation.images.front': frames})
    finally:
        worker.stop()
    assert seen == {'observation.state': (torch.float32, (1, 2, 3)),
                    'observation.images.front': (torch.uint8, (1, 2, 6, 8, 3))}
    np.testing.assert_allclose(out, np.full((4, 3), 200.0))
