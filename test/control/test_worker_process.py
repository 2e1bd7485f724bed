"""ProcessInferenceWorker: the thread worker's actions, a dead worker named, no process left."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from dil_ros.accel.forms import load_policy_form  # noqa: E402
from dil_ros.accel.synthetic import (  # noqa: E402
    camera_contract, export_synthetic, synthetic_inputs, synthetic_policy, TINY)
from dil_ros.control.inference import InferenceWorker  # noqa: E402
from dil_ros.control.worker_process import (  # noqa: E402
    InferenceWorkerError, ProcessInferenceWorker, WorkerSpec)
from dil_ros.policy.vision_encoder import VisionConfig  # noqa: E402


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while running(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not running(pid)


@pytest.fixture(scope='module')
def camera_policy(tmp_path_factory):
    """A tiny diffusion policy (2 DDIM steps) with a 128x128 camera: its window (98 KiB) is
    larger than the worker's first input block, which has to grow."""
    contract = camera_contract(1, size=128, crop=84)
    policy = synthetic_policy(TINY, num_inference_steps=2, contract=contract,
                              vision=VisionConfig(base_width=16, num_keypoints=8, feature_dim=8))
    path = export_synthetic(policy, tmp_path_factory.mktemp('worker') / 'policy.ts', contract)
    return path, policy


def window(policy, seed):
    """One node-shaped window ({key: [To, ...]}, float64 state as the buffer gives it) + noise."""
    obs, noise = synthetic_inputs(policy, seed=seed)
    return ({k: v[0].numpy() if v.dtype == torch.uint8 else v[0].double().numpy()
             for k, v in obs.items()}, noise[0].numpy())


def test_process_mode_gives_the_thread_modes_actions(camera_policy):
    path, policy = camera_policy
    form = load_policy_form(path)
    thread = InferenceWorker(form)
    worker = ProcessInferenceWorker(WorkerSpec(str(path), policy_sha256=form.policy_sha256))
    try:
        assert 'torch threads' in worker.message and running(worker.pid)
        outputs = []
        for seed in (1, 2):   # a second window overwrites the first in the same block
            obs, noise = window(policy, seed)
            expected, got = thread.infer(obs, noise), worker.infer(obs, noise)
            assert got.dtype == np.float64 and got.shape == (policy.horizon, policy.action_dim)
            np.testing.assert_array_equal(got, expected)
            outputs.append(got)
        assert not np.array_equal(outputs[0], outputs[1])
        assert worker._in.shm.size > 1 << 16   # grew for the camera frames  # noqa: SLF001
    finally:
        thread.stop()
        worker.stop()
    assert not running(worker.pid)


class _Request:
    def __init__(self, obs):
        self.obs = obs


def test_a_killed_worker_is_named_and_later_calls_fail_at_once(camera_policy):
    path, policy = camera_policy
    done = []
    worker = ProcessInferenceWorker(WorkerSpec(str(path)), lambda *args: done.append(args))
    try:
        obs, _ = window(policy, 1)
        os.kill(worker.pid, signal.SIGKILL)
        worker.submit(_Request(obs))
        end = time.monotonic() + 10.0
        while not done and time.monotonic() < end:
            time.sleep(0.02)
        assert done, 'no answer after the worker was killed'
        _, actions, error, _ = done[0]
        assert actions is None
        assert error == f'inference worker process (pid {worker.pid}) was killed by SIGKILL'
        assert worker.dead_reason == error
        t = time.monotonic()
        with pytest.raises(InferenceWorkerError, match='killed by SIGKILL'):
            worker.infer(obs)
        assert time.monotonic() - t < 0.5
    finally:
        worker.stop()


def test_a_policy_the_worker_cannot_load_is_refused_by_name(tmp_path):
    bad = tmp_path / 'garbage.ts'
    bad.write_bytes(b'not a policy')
    with pytest.raises(InferenceWorkerError) as err:
        ProcessInferenceWorker(WorkerSpec(str(bad)))
    assert f'{bad}: inference worker process could not load the policy' in str(err.value)
    assert 'not a TorchScript archive' in str(err.value)


def test_worker_cpus_are_set_and_impossible_ones_refused_by_name(camera_policy):
    import os
    path, _ = camera_policy
    with pytest.raises(InferenceWorkerError, match=r'inference_cpus \[4095\]: cannot run'):
        ProcessInferenceWorker(WorkerSpec(str(path), cpus=(4095,)))
    cpu = sorted(os.sched_getaffinity(0))[-1]
    worker = ProcessInferenceWorker(WorkerSpec(str(path), cpus=(cpu,)))
    try:
        assert worker.message.endswith(f'CPUs [{cpu}]'), worker.message
        assert os.sched_getaffinity(worker.pid) == {cpu}
    finally:
        worker.stop()


def test_a_node_killed_outright_leaves_no_worker(camera_policy):
    """SIGKILL gives the node no chance to stop its worker: the worker ends on its pipe's EOF."""
    path, _ = camera_policy
    script = ('import sys, time\n'
              'from dil_ros.control.worker_process import ProcessInferenceWorker, WorkerSpec\n'
              'if __name__ == "__main__":\n'
              f'    w = ProcessInferenceWorker(WorkerSpec({str(path)!r}))\n'
              '    print(w.pid, flush=True)\n'
              '    time.sleep(60)\n')
    node = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(node.stdout.readline())
        assert running(pid)
        node.kill()
        node.wait(5)
        assert wait_gone(pid), f'worker {pid} outlived its node'
    finally:
        if node.poll() is None:
            node.kill()
