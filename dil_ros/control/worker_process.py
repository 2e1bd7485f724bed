"""Runs the policy in a worker process, so none of inference's Python shares the node's GIL.

``inference_mode: process`` of policy_node. The thread worker (inference.py) already runs
TorchScript's forward without the interpreter lock, but the Python around it (tensor conversion,
the form wrapper, torch's dispatch) and a CPU core shared with the control loop remain; here the
policy lives in its own interpreter, at its own scheduling priority (``nice``), and talks to the
node through two shared-memory blocks:

    node ── writes the window (float32 / uint8 frames) ──► [input block]  ──► worker
    node ◄── reads the chunk [Tp, Da] float32 ◄──────────── [output block] ◄── worker

A pipe carries only the layout (key, dtype, shape, offset) and "done" / "failed". One request is
in flight at a time. The worker is started with ``spawn`` (forking a process that holds DDS
threads is unsafe), loads the same policy.ts itself (pinned by its sha256, so it runs the bytes
the node checked), ignores SIGINT (the node decides when it ends) and exits when its pipe closes,
so a node killed outright leaves no worker behind. A worker that dies is reported by name
(:attr:`ProcessInferenceWorker.dead_reason`); every later call fails with that reason.
"""
from dataclasses import dataclass
import multiprocessing as mp
from multiprocessing import connection, shared_memory
import signal
import threading
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from dil_ros.control.inference import RequestLoop
from dil_ros.errors import DilRosError

STARTUP_TIMEOUT_S = 120.0   # import torch + load + warm up, on a loaded 2-core machine


class InferenceWorkerError(DilRosError):
    """The inference worker process failed to start, or died; the message says how."""


@dataclass(frozen=True)
class WorkerSpec:
    """What the worker process loads: ``load_policy_form(policy_path, form, device,
    policy_sha256=...)`` with ``threads`` torch intra-op threads (0: torch's default) at
    ``nice`` (added to the node's niceness: > 0 lets the control loop run first on a shared
    core), on ``cpus`` only (``os.sched_setaffinity``; empty: wherever the node may run), so the
    control loop can keep a core of its own."""

    policy_path: str
    form: str = 'torchscript'
    device: str = 'cpu'
    policy_sha256: str = ''
    threads: int = 1
    nice: int = 0
    cpus: Tuple[int, ...] = ()


Layout = List[Tuple[str, str, Tuple[int, ...], int]]   # (key, numpy dtype str, shape, offset)
NOISE_KEY = '__noise__'


def _align(n: int) -> int:
    return (n + 63) // 64 * 64


class _Block:
    """A shared-memory block the node owns, re-made larger when a window outgrows it (cameras
    arrive at their native size, known only at run time)."""

    def __init__(self, nbytes: int):
        self.shm = shared_memory.SharedMemory(create=True, size=max(_align(nbytes), 64))

    @property
    def name(self) -> str:
        return self.shm.name

    def ensure(self, nbytes: int) -> None:
        if nbytes > self.shm.size:
            self.close()
            self.shm = shared_memory.SharedMemory(create=True, size=_align(nbytes * 2))

    def close(self) -> None:
        try:
            self.shm.close()
        except BufferError:   # a view still alive; the unlink below frees it when that goes
            pass
        try:
            self.shm.unlink()
        except FileNotFoundError:
            pass


def _attach(name: str) -> shared_memory.SharedMemory:
    """Open one of the node's blocks. A spawned worker shares the node's resource tracker, which
    keeps a set of names: attaching adds nothing, and the node's unlink clears the one entry."""
    return shared_memory.SharedMemory(name=name)


def _serve(conn, spec: WorkerSpec) -> None:
    """The worker process: load, say 'ready', then answer requests until 'stop' or EOF."""
    import os
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if spec.nice:
            os.nice(spec.nice)
        if spec.cpus:
            try:
                os.sched_setaffinity(0, spec.cpus)
            except (OSError, ValueError) as exc:
                raise InferenceWorkerError(
                    f'inference_cpus {list(spec.cpus)}: cannot run the worker there ({exc}); '
                    f'this machine offers CPUs {sorted(os.sched_getaffinity(0))}') from None
        import torch
        if spec.threads > 0:
            torch.set_num_threads(spec.threads)
        from dil_ros.accel.forms import load_policy_form
        policy = load_policy_form(spec.policy_path, spec.form, spec.device,
                                  policy_sha256=spec.policy_sha256 or None)
    except Exception as exc:  # noqa: BLE001 - sent to the node, which names it
        conn.send(('failed', f'{type(exc).__name__}: {exc}'))
        return
    import gc
    gc.collect()   # what loading left behind; then no full collection walks it again
    gc.freeze()
    conn.send(('ready', f'pid {os.getpid()}, {torch.get_num_threads()} torch threads, '
                        f'nice {os.nice(0)}, CPUs {sorted(os.sched_getaffinity(0))}'))
    inputs, outputs = _Attached(), _Attached()
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):   # the node is gone
                return
            if message[0] == 'stop':
                return
            _, in_name, layout, out_name = message
            try:
                batch, noise = _read_window(inputs.get(in_name), layout)
                with torch.inference_mode():
                    out = policy(batch, noise)[0].detach().to('cpu', torch.float32).numpy()
                out_shm = outputs.get(out_name)
                if out.nbytes <= out_shm.size:
                    np.ndarray(out.shape, np.float32, buffer=out_shm.buf)[...] = out
                    conn.send(('done', out.shape))
                else:   # an unexpected shape: the node checks and rejects it
                    conn.send(('inline', out))
            except Exception as exc:  # noqa: BLE001 - reported to the node, which holds
                conn.send(('error', f'{type(exc).__name__}: {exc}'))
    finally:
        inputs.close()
        outputs.close()


def _read_window(shm: shared_memory.SharedMemory, layout: Layout):
    """({key: tensor [1, ...]}, noise [1, ...] or None), copied out of the node's block."""
    import torch
    batch, noise = {}, None
    for key, dtype, shape, offset in layout:
        view = np.ndarray(shape, dtype=np.dtype(dtype), buffer=shm.buf, offset=offset)
        tensor = torch.from_numpy(view.copy()).unsqueeze(0)
        if key == NOISE_KEY:
            noise = tensor
        else:
            batch[key] = tensor
    return batch, noise


class _Attached:
    """The worker's handle on one of the node's blocks; a new name means the node re-made it."""

    def __init__(self):
        self.name, self.shm = None, None

    def get(self, name: str) -> shared_memory.SharedMemory:
        if name != self.name:
            self.close()
            self.name, self.shm = name, _attach(name)
        return self.shm

    def close(self) -> None:
        if self.shm is not None:
            try:
                self.shm.close()
            except BufferError:
                pass
            self.name, self.shm = None, None


class ProcessInferenceWorker(RequestLoop):
    """The :class:`~dil_ros.control.inference.InferenceWorker` interface over a worker process:
    ``infer(obs)`` (synchronous), ``submit(request)`` -> ``on_done(request, actions | None,
    error | None, wall_s)`` from a thread of the node, ``stop()``.

    The constructor starts the process and waits until the policy is loaded; a load failure
    raises :class:`InferenceWorkerError` with the worker's own message.
    """

    def __init__(self, spec: WorkerSpec, on_done: Optional[Callable] = None,
                 output_bytes: int = 4096):
        self.spec = spec
        self.on_done = on_done
        self.dead_reason: Optional[str] = None
        self._call_lock = threading.Lock()
        self._in = _Block(1 << 16)
        self._out = _Block(output_bytes)
        ctx = mp.get_context('spawn')
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, spec), daemon=True,
                                 name='policy_inference_worker')
        self._proc.start()
        child.close()   # only the worker holds its end: EOF reaches it when the node goes
        self.pid = self._proc.pid
        try:
            reply = self._receive(STARTUP_TIMEOUT_S)
        except InferenceWorkerError:
            self._close()
            raise
        if reply[0] != 'ready':
            self._close()
            raise InferenceWorkerError(f'{spec.policy_path}: inference worker process could not '
                                       f'load the policy: {reply[1]}')
        self.message = reply[1]
        self._start_loop('policy_inference_client')

    # -- calls ----------------------------------------------------------------------------------
    def _died(self) -> str:
        self._proc.join(1.0)
        code = self._proc.exitcode
        if code is None:
            how = 'stopped answering'
        elif code < 0:
            try:
                how = f'was killed by {signal.Signals(-code).name}'
            except ValueError:
                how = f'was killed by signal {-code}'
        else:
            how = f'exited with code {code}'
        return f'inference worker process (pid {self.pid}) {how}'

    def _receive(self, timeout: Optional[float] = None):
        """The worker's next message; InferenceWorkerError when it died meanwhile."""
        if self.dead_reason is not None:
            raise InferenceWorkerError(self.dead_reason)
        ready = connection.wait([self._conn, self._proc.sentinel], timeout)
        if not ready:
            self.dead_reason = f'inference worker process (pid {self.pid}) gave no answer ' \
                               f'within {timeout:.0f} s'
            raise InferenceWorkerError(self.dead_reason)
        try:
            if self._conn in ready or self._conn.poll():
                return self._conn.recv()
        except (EOFError, OSError):
            pass
        self.dead_reason = self._died()
        raise InferenceWorkerError(self.dead_reason)

    def _layout(self, obs: Dict[str, np.ndarray], noise) -> Tuple[Layout, list]:
        layout, arrays, offset = [], [], 0
        items = list(obs.items()) + ([(NOISE_KEY, noise)] if noise is not None else [])
        for key, value in items:
            value = np.asarray(value)
            value = value if value.dtype == np.uint8 else value.astype(np.float32, copy=False)
            layout.append((key, value.dtype.str, value.shape, offset))
            arrays.append(value)
            offset = _align(offset + value.nbytes)
        return layout, arrays

    def infer(self, obs: Dict[str, np.ndarray], noise=None) -> np.ndarray:
        """One synchronous inference: {key: [To, D]} (cameras uint8 [To, H, W, 3]) -> [Tp, Da]
        float64, as the thread worker returns it (inputs rounded to float32 the same way)."""
        layout, arrays = self._layout(obs, noise)
        with self._call_lock:
            if self.dead_reason is not None:
                raise InferenceWorkerError(self.dead_reason)
            self._in.ensure(layout[-1][3] + arrays[-1].nbytes if layout else 0)
            for (_, dtype, shape, offset), value in zip(layout, arrays):
                np.ndarray(shape, np.dtype(dtype), buffer=self._in.shm.buf,
                           offset=offset)[...] = value
            try:
                self._conn.send(('infer', self._in.name, layout, self._out.name))
            except (BrokenPipeError, OSError):
                self.dead_reason = self._died()
                raise InferenceWorkerError(self.dead_reason) from None
            reply = self._receive()
            if reply[0] == 'error':
                raise RuntimeError(reply[1])
            if reply[0] == 'inline':
                return np.asarray(reply[1], dtype=np.float64)
            shape = tuple(reply[1])
            return np.ndarray(shape, np.float32, buffer=self._out.shm.buf).astype(np.float64)

    def _answer(self, request):
        try:
            return self.infer(request.obs), None
        except Exception as exc:  # noqa: BLE001 - a dead worker, or the policy's own error
            return None, str(exc)

    # -- shutdown -------------------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> None:
        """End the worker (asked, then SIGTERM, then SIGKILL) and free the shared memory."""
        self._stop_loop(timeout)
        self._close(timeout)

    def _close(self, timeout: float = 5.0) -> None:
        if self._proc.is_alive():
            try:   # the pipe's other direction: safe beside a call waiting for its answer
                self._conn.send(('stop',))
            except (BrokenPipeError, OSError):
                pass
            self._proc.join(min(timeout, 2.0))
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(1.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        self._conn.close()
        self._in.close()
        self._out.close()
