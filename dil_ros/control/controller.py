"""The policy node's logic without ROS: what to command now, when to infer, when to hold, why."""
from collections import deque
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Tuple

import numpy as np

from dil_ros.contract import Contract
from dil_ros.control.diagnostics import controller_status
from dil_ros.control.guided_handover import plan_guide
from dil_ros.control.limits import CommandLimiter
from dil_ros.control.obs_buffer import ObservationBuffer
from dil_ros.control.scheduler import ActionChunk, ChunkScheduler


@dataclass(frozen=True)
class ControlConfig:
    rate_hz: float = 100.0               # control loop
    observation_timeout_s: float = 0.5   # hold when the newest observation is older than this
    inference_lead_s: float = 0.05       # margin over measured latency when starting inference
    handover: str = 'crossfade'
    crossfade_steps: int = 20            # control steps over which a hand-over offset fades out
    velocity_output: bool = False        # twist: hold means zero, not "stay where you are"
    guide_hold_s: float = float('inf')   # guided: weight 1 this long past arrival (0: RTC decay)
    guide_soft_s: Optional[float] = None  # guided: then decay over this (None: to the chunk end)
    guide_hold_below_s: float = float('inf')  # guided: hold only if the chunk ran less than this


@dataclass
class InferenceRequest:
    generation: int
    obs: Dict[str, np.ndarray]   # {key: [To, D]}
    stamp: float                 # newest observation stamp (the chunk's t0)
    t_submit: float
    prefix: Optional[np.ndarray] = None         # handover guided: [Tp, Da] to agree with
    prefix_weight: Optional[np.ndarray] = None  # and its weights [Tp] (guided_handover.py)


@dataclass
class Tick:
    command: Optional[np.ndarray]          # clamped command for now (None: nothing safe to send)
    holding: bool = False                  # holding because of ``reason`` (not merely waiting)
    reason: str = ''
    entered_hold: bool = False             # first tick of this hold (send a hold trajectory once)
    new_chunk: bool = False                # a chunk arrived since the last tick (send trajectory)
    request: Optional[InferenceRequest] = None


class PolicyController:
    """Thread-compatible when the caller serialises calls (the node holds one lock around them)."""

    def __init__(self, contract: Contract, config: ControlConfig, stamped_keys: Iterable[str],
                 initial_latency_s: float = 0.0):
        self.contract = contract
        self.config = config
        self.buffer = ObservationBuffer(contract.obs_dims, stamped_keys, rule=contract.sampling,
                                        images=contract.image_keys,
                                        keep_s=self._frames_kept_s(contract, config))
        self.scheduler = ChunkScheduler(contract.n_action_steps, config.handover,
                                        fade_s=config.crossfade_steps / config.rate_hz)
        self.limiter = CommandLimiter(contract.action.joints, contract.limits)
        self.period = 1.0 / config.rate_hz
        self.active = False
        self.enabled = False
        self.estop = False
        self.faults: Dict[str, str] = {}
        self.last_error = ''
        self.last_command: Optional[np.ndarray] = None
        self._last_command_t: Optional[float] = None
        self._holding = True
        self._hold_reason = 'inactive'
        self._new_chunk = False
        self._retry_at = -np.inf
        self._last_policy_error: Optional[str] = None
        self.generation = 0
        self.in_flight = False
        self.latencies = deque([initial_latency_s] if initial_latency_s > 0 else [], maxlen=200)
        self.wall_latencies = deque(maxlen=200)
        self.loop_periods = deque(maxlen=1000)
        self.counters = {'chunks': 0, 'rejected_chunks': 0, 'dropped_observations': 0,
                         'loop_overruns': 0}
        self._observed_action = self._find_action_observation()

    # -- observations -------------------------------------------------------------------------
    @staticmethod
    def _frames_kept_s(contract: Contract, config: ControlConfig) -> float:
        """How far behind its newest frame a camera's history must reach: one window, plus
        the most the window's end (the stalest stamped key) may lag before the node holds."""
        ages = [s.max_age_s for s in contract.observations.values()
                if s.max_age_s is not None and np.isfinite(s.max_age_s)]
        lag = max([config.observation_timeout_s] + ages)
        return contract.n_obs_steps * contract.dt + lag

    def _find_action_observation(self) -> Optional[Tuple[str, np.ndarray]]:
        """(key, indices) of the measured positions of the action joints, if observed.

        The contract's ``action.state_joints`` name them (by default the action joints).
        """
        found = self.contract.measured_action()
        return None if found is None else (found[0], np.array(found[1]))

    def observe(self, key: str, stamp_ns: int, value) -> Optional[Tuple[str, str]]:
        """Store one observation stamped ``stamp_ns`` (int nanoseconds: header stamp, or receive
        time for headerless messages). Returns None, or (level 'warn'|'error', message) to log."""
        why = self.buffer.add(key, stamp_ns, value)
        if why is None:
            self.faults.pop(key, None)
            return None
        if 'out-of-order' in why:
            self.counters['dropped_observations'] += 1
            return 'warn', why
        if why.startswith(f'{key}:'):   # name the topic too
            why = self._describe(key) + why[len(key):]
        return self.fault(key, f'{why}; holding')

    def fault(self, source: str, message: str) -> Optional[Tuple[str, str]]:
        """Hold until ``source`` delivers a good message again; ('error', message) when new."""
        self.last_error = message
        new = self.faults.get(source) != message
        self.faults[source] = message
        return ('error', message) if new else None

    # -- commands -----------------------------------------------------------------------------
    def hold_value(self) -> Optional[np.ndarray]:
        if self.config.velocity_output:
            return np.zeros(self.contract.action_dim)
        if self.last_command is not None:
            return self.last_command
        if self._observed_action is not None:
            key, idx = self._observed_action
            latest = self.buffer.latest(key)
            if latest is not None:
                return self.limiter.clamp(latest[idx], None, 0.0)
        return None

    def hold_reason(self, now: float) -> Optional[str]:
        if not self.active:
            return 'inactive'
        if self.estop:
            return 'e-stop latched (call ~/reset)'
        if not self.enabled:
            return 'disabled (call ~/enable)'
        if self.faults:
            return next(iter(self.faults.values()))
        if not self.buffer.ready():
            return f'waiting for observations: {", ".join(self.buffer.missing())}'
        max_age = {k: s.max_age_s for k, s in self.contract.observations.items()
                   if s.max_age_s is not None}  # the bound the converter carried them by
        stale = self.buffer.stale_keys(now, self.config.observation_timeout_s, max_age)
        if stale:
            timeout = f'observation_timeout_s {self.config.observation_timeout_s} s'
            return 'stale observations: ' + '; '.join(
                f'{self._describe(k)}: none newer than '
                + (f'max_age_s {max_age[k]} s' if k in max_age else timeout) for k in stale)
        return None

    def _describe(self, key: str) -> str:
        spec = self.contract.observations.get(key)
        return f'{key} ({spec.topic})' if spec is not None and spec.topic else key

    def hold_level(self, reason: str) -> int:
        """0: an operator's choice (inactive, disabled, waiting); 2: fault, stale, e-stop."""
        return 0 if reason.startswith(('inactive', 'disabled', 'waiting')) else 2

    def observation_age(self, now: float) -> float:
        """Age of the stalest key's newest observation (inf before every key has one)."""
        ages = [now - t for t in self.buffer.newest_per_key().values()]
        return max(ages) if ages and self.buffer.ready() else float('inf')

    def latency_estimate(self) -> float:
        return max(list(self.latencies)[-10:]) if self.latencies else 0.0

    def _commit(self, cmd: np.ndarray, now: float) -> np.ndarray:
        dt = self.period if self._last_command_t is None else max(now - self._last_command_t, 0.0)
        cmd = self.limiter.clamp(cmd, self.last_command, dt)
        self.last_command, self._last_command_t = cmd, now
        return cmd

    def tick(self, now: float) -> Tick:
        reason = self.hold_reason(now)
        if reason is not None:
            entered = not self._holding or reason != self._hold_reason
            if not self._holding:
                self.scheduler.clear()
                self.generation += 1
                self.in_flight = False
            self._holding, self._hold_reason = True, reason
            if reason.startswith(('inactive', 'disabled')):
                # Someone else may command now: send the hold once, then stay silent.
                hold = self.hold_value() if entered and self.last_command is not None else None
            else:
                hold = self.hold_value()
            if hold is not None and not self.config.velocity_output:
                self.last_command, self._last_command_t = hold, now
            return Tick(command=hold, holding=True, reason=reason, entered_hold=entered)
        self._holding, self._hold_reason = False, ''
        tick = Tick(command=None, new_chunk=self._new_chunk)
        self._new_chunk = False
        cmd = self.scheduler.command(now)
        if cmd is None:
            tick.command, tick.reason = self.hold_value(), 'waiting for the policy'
            if tick.command is not None:
                self.last_command, self._last_command_t = tick.command, now
        else:
            tick.command = self._commit(cmd, now)
        lead = self.latency_estimate() + self.config.inference_lead_s
        if (not self.in_flight and now >= self._retry_at
                and now >= self.scheduler.next_inference_due() - lead):
            obs, stamp = self.buffer.sample(self.contract.n_obs_steps, self.contract.rate_hz)
            tick.request = InferenceRequest(self.generation, obs, stamp, now)
            if self.config.handover == 'guided':
                guide = plan_guide(self.scheduler, stamp, self.contract.dt,
                                   self.contract.n_obs_steps, self.contract.horizon,
                                   now + self.latency_estimate(), self.config.guide_hold_s,
                                   self.config.guide_soft_s, self.config.guide_hold_below_s)
                if guide is not None:
                    tick.request.prefix, tick.request.prefix_weight = guide
            self.in_flight = True
        return tick

    def on_result(self, request: InferenceRequest, actions, now: float,
                  wall_latency_s: float = float('nan')) -> Optional[Tuple[str, str]]:
        """A chunk came back. Returns (level, message) to log, or None."""
        if request.generation != self.generation:
            return None
        self.in_flight = False
        self.latencies.append(max(now - request.t_submit, 0.0))
        self.wall_latencies.append(wall_latency_s)
        actions = np.asarray(actions, dtype=np.float64)
        shape = (self.contract.horizon, self.contract.action_dim)
        if actions.shape != shape or not np.all(np.isfinite(actions)):
            self.counters['rejected_chunks'] += 1
            what = (f'shape {actions.shape}, expected {shape}' if actions.shape != shape
                    else 'non-finite values')
            message = f'policy returned an unusable chunk ({what}); holding'
            self.scheduler.clear()
            self._retry_at = now + self.contract.dt   # retry at the policy rate, not every tick
            return self._policy_error(message)
        self._last_policy_error = None
        chunk = ActionChunk(request.stamp, self.contract.dt, actions, self.contract.n_obs_steps)
        current = self.last_command if self.last_command is not None else self.hold_value()
        self.scheduler.add(chunk, now, current)
        self.counters['chunks'] += 1
        self._new_chunk = True
        return None

    def on_failure(self, request: InferenceRequest, message: str,
                   now: float = 0.0) -> Optional[Tuple[str, str]]:
        if request.generation == self.generation:
            self.in_flight = False
        self.counters['rejected_chunks'] += 1
        self._retry_at = now + self.contract.dt
        return self._policy_error(f'inference failed: {message}')

    def _policy_error(self, message: str) -> Optional[Tuple[str, str]]:
        """Record a policy error; ('error', message) the first time it occurs in a row."""
        self.last_error = message
        if message == self._last_policy_error:
            return None
        self._last_policy_error = message
        return 'error', message

    def trajectory(self, now: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """The rest of the newest chunk for a JTC: (time_from_start [N], points [N, D]).

        Points sit on the chunk's grid strictly after now (the first never at 0), hand-over
        included, each clamped relative to the one before.
        """
        chunk = self.scheduler.newest
        if chunk is None:
            return None
        times = chunk.times()
        times = times[times > now + self.period * 0.5]
        if times.size == 0:
            return None
        pts = []
        for t in times:
            p = self.scheduler.evaluate(float(t))
            if p is None:
                break
            pts.append(p)
        times = times[:len(pts)]
        if not pts:
            return None
        dts = np.diff(np.concatenate([[now], times]))
        return times - now, self.limiter.clamp_sequence(np.stack(pts), self.last_command, dts)

    # -- operator -----------------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        self.active = active

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    def trigger_estop(self) -> None:
        self.estop = True
        self.last_error = 'e-stop triggered'

    def reset(self) -> None:
        """Clear history, faults, the e-stop latch and the held command.

        The robot may have been moved (or a simulator reset) meanwhile, so after a reset the node
        holds, and starts new chunks from, the measured position rather than its last command.
        """
        self.last_command, self._last_command_t = None, None
        self.estop = False
        self.faults.clear()
        self.buffer.clear()
        self.scheduler.clear()
        self.generation += 1
        self.in_flight = False

    def record_loop_period(self, period_s: float) -> None:
        self.loop_periods.append(period_s)
        if period_s > 1.5 * self.period:
            self.counters['loop_overruns'] += 1

    # -- diagnostics --------------------------------------------------------------------------
    def status(self, now: float) -> Tuple[int, str, Dict[str, str]]:
        """(level 0 OK / 1 WARN / 2 ERROR, summary, key values) for /diagnostics."""
        return controller_status(self, now)
