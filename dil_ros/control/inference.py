"""Runs the TorchScript policy on its own thread so the control loop never waits for it.

TorchScript's forward runs without the interpreter lock; the Python around it (conversion, the
form wrapper) and the on_done callback take it. ``inference_mode: process`` moves all of that into
a worker process (worker_process.py); both give the same actions for the same inputs.
A request carrying ``prefix``/``prefix_weight`` (handover guided) is passed to the policy with
them. ``delay_s`` (policy_node's test parameter ``inference_delay_s``) sleeps before each
inference, to measure hand-over under a slower policy (bench/bench_handover.py).
"""
import queue
import threading
import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np


class RequestLoop:
    """A thread that answers submitted requests in order (thread and process inference alike).

    ``submit(request)`` returns at once; the thread calls the subclass's ``_answer(request) ->
    (actions | None, error | None)`` and then ``on_done(request, actions, error, wall_s)``.
    """

    on_done: Optional[Callable] = None

    def _start_loop(self, name: str) -> None:
        self._queue: 'queue.Queue' = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, request) -> None:
        self._queue.put(request)

    def _answer(self, request) -> Tuple[Optional[np.ndarray], Optional[str]]:
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            t = time.perf_counter()
            actions, error = self._answer(request)
            if self.on_done is not None:
                self.on_done(request, actions, error, time.perf_counter() - t)

    def _stop_loop(self, timeout: float) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


class InferenceWorker(RequestLoop):
    """The policy on a thread of the node: see RequestLoop for ``submit`` and ``on_done``."""

    def __init__(self, module, device: str = 'cpu', on_done: Optional[Callable] = None,
                 delay_s: float = 0.0):
        self.module = module
        self.delay_s = max(0.0, float(delay_s))
        self.device = device
        self.on_done = on_done
        self._start_loop('policy_inference')

    def infer(self, obs: Dict[str, np.ndarray], noise=None, prefix=None,
              prefix_weight=None) -> np.ndarray:
        """One synchronous inference: {key: [To, D]} -> [Tp, Da] (physical units).

        Camera frames (uint8 [To, H, W, 3]) stay uint8; the policy converts them itself.
        ``noise`` [Tp, Da] fixes the initial noise (parity checks); None: the policy draws it.
        """
        import torch
        batch = {k: torch.as_tensor(np.asarray(v), device=self.device,
                                    dtype=torch.uint8 if np.asarray(v).dtype == np.uint8
                                    else torch.float32).unsqueeze(0) for k, v in obs.items()}
        if noise is not None:
            noise = torch.as_tensor(np.asarray(noise, dtype=np.float32),
                                    device=self.device).unsqueeze(0)
        with torch.inference_mode():
            if prefix is None:
                out = self.module(batch, noise)
            else:   # [Tp, Da], [Tp] -> batch of one; a PolicyForm's scripted policy.ts
                guided = getattr(self.module, 'fn', self.module)
                out = guided(batch, noise, *(
                    torch.as_tensor(np.asarray(v, dtype=np.float32),
                                    device=self.device).unsqueeze(0)
                    for v in (prefix, prefix_weight)))
        return out[0].detach().to('cpu', torch.float64).numpy()

    def _answer(self, request):
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        try:
            return self.infer(request.obs, None, getattr(request, 'prefix', None),
                              getattr(request, 'prefix_weight', None)), None
        except Exception as exc:  # noqa: BLE001 - reported to the node, which holds
            return None, f'{type(exc).__name__}: {exc}'

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_loop(timeout)
