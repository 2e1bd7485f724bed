"""Map gamepad/keyboard input to robot commands, behind a dead-man switch.

Every control tick, :meth:`TeleopMapper.update` turns the input state
(:class:`~dil_ros.teleop.inputs.InputState`) into a :class:`Command`. Inputs are one signed value
per joint (stick axis, or a +/- key pair), times the joint's ``max_velocity`` and ``scale``: joint
velocities in ``action.joints`` order.

* ``joint_position`` - the velocities integrated into an absolute position target by
  :class:`~dil_ros.teleop.safety.PositionGuard` (starts from the measured joints, bounded lead,
  contract limits).
* ``joint_velocity`` - the same velocities. A position controller (``command_interface``
  'position', what the contract's teleop topic and its recorded ``action`` are) gets them
  integrated into positions exactly as in ``joint_position`` mode, so the arm moves at the
  commanded rate; a velocity controller ('velocity') gets the velocities.
* ``twist`` - inputs as (linear x, y, z, angular z), times ``max_linear`` / ``max_angular``.

Nothing moves unless the dead-man is held; on release the command is *hold*: zero velocity, the
last target position (within ``max_lead`` of the arm), or a zero twist. A 'reset' input event
(device unplugged, window lost focus) releases everything.
"""
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Tuple

from dil_ros.teleop.inputs import InputEvent, InputState
from dil_ros.teleop.safety import PositionGuard, TeleopConfigError

MODES = ('joint_velocity', 'joint_position', 'twist')
INTERFACES = ('position', 'velocity')


@dataclass(frozen=True)
class TeleopConfig:
    """How inputs map to commands; ``axes`` / ``keys`` list one input per output dimension."""

    mode: str
    joints: Tuple[str, ...]
    max_velocity: Tuple[float, ...]
    lower: Tuple[float, ...] = ()
    upper: Tuple[float, ...] = ()
    axes: Tuple[int, ...] = (0, 1, 3, 4, 2, 5)
    axis_sign: Tuple[float, ...] = ()
    keys: Tuple[Tuple[str, str], ...] = (('q', 'a'), ('w', 's'), ('e', 'd'), ('r', 'f'),
                                         ('t', 'g'), ('y', 'h'))
    deadman_button: int = 4
    deadman_key: str = 'space'
    scale: float = 0.5
    deadzone: float = 0.1
    max_linear: float = 0.2
    max_angular: float = 0.5
    max_lead: float = 0.15
    command_interface: str = 'position'

    def __post_init__(self):
        if self.mode not in MODES:
            raise TeleopConfigError(f'mode: must be one of {MODES}, got {self.mode!r}')
        if self.command_interface not in INTERFACES:
            raise TeleopConfigError(f'command_interface: must be one of {INTERFACES}, got '
                                    f'{self.command_interface!r}')
        if len(self.max_velocity) != len(self.joints):
            raise TeleopConfigError('max_velocity: needs one value per joint')
        if self.mode != 'twist' and len(self.axes) < len(self.joints) and \
                len(self.keys) < len(self.joints):
            raise TeleopConfigError(f'axes / key_bindings: {len(self.joints)} joints but only '
                                    f'{len(self.axes)} axes and {len(self.keys)} key pairs '
                                    'mapped')
        if not 0.0 < self.scale <= 1.0:
            raise TeleopConfigError(f'scale: must be in (0, 1], got {self.scale}')

    @classmethod
    def from_contract(cls, contract, mode: str, **kw) -> 'TeleopConfig':
        joints = tuple(contract.action.joints)
        lims = [contract.limits[j] for j in joints]   # the contract has limits for each
        return cls(mode=mode, joints=joints,
                   max_velocity=tuple(lim.max_velocity for lim in lims),
                   lower=tuple(lim.lower for lim in lims),
                   upper=tuple(lim.upper for lim in lims), **kw)

    @property
    def dims(self) -> int:
        return 4 if self.mode == 'twist' else len(self.joints)

    @property
    def sends_positions(self) -> bool:
        return self.mode == 'joint_position' or (self.mode == 'joint_velocity'
                                                 and self.command_interface == 'position')

    @property
    def joint_keys(self) -> Tuple[Tuple[str, str], ...]:
        """The +/- key pairs in use (one per output dimension)."""
        return tuple(self.keys[:self.dims])


@dataclass(frozen=True)
class Command:
    """kind: 'velocity', 'position' or 'twist'; ``active`` False means hold (dead-man released)."""

    kind: str
    values: Tuple[float, ...]
    active: bool


class TeleopMapper:
    """Dead-man handling, input shaping, and the guarded position target."""

    def __init__(self, config: TeleopConfig):
        self.config = config
        self.state = InputState()
        c = config
        lower = c.lower or (float('-inf'),) * len(c.joints)
        upper = c.upper or (float('inf'),) * len(c.joints)
        self.guard = PositionGuard(lower, upper, c.max_velocity, c.max_lead)
        self._was_active = False

    @property
    def target(self) -> Optional[List[float]]:
        return None if self.guard.target is None else self.guard.target.tolist()

    def handle(self, events: Sequence[InputEvent]) -> None:
        for event in events:
            self.state.apply(event)

    def deadman(self) -> bool:
        c, s = self.config, self.state
        return c.deadman_button in s.buttons or c.deadman_key in s.keys

    def inputs(self) -> List[float]:
        """One shaped input in [-1, 1] per output dimension (dead-zone removed, keys as +/-1)."""
        c, s = self.config, self.state
        out = []
        for i in range(c.dims):
            value = 0.0
            if i < len(c.axes):
                raw = s.axes.get(c.axes[i], 0.0)
                if abs(raw) > c.deadzone:
                    value = (abs(raw) - c.deadzone) / (1.0 - c.deadzone) * (1 if raw > 0 else -1)
                if i < len(c.axis_sign):
                    value *= c.axis_sign[i]
            if i < len(c.keys):
                plus, minus = c.keys[i]
                value += (plus in s.keys) - (minus in s.keys)
            out.append(max(-1.0, min(1.0, value)))
        return out

    def reanchor(self, measured: Optional[Mapping[str, float]]) -> None:
        """Restart the position target from ``measured`` (after a reset of the robot)."""
        if measured is not None and all(j in measured for j in self.config.joints):
            self.guard.anchor([measured[j] for j in self.config.joints])
        else:
            self.guard.target = None

    def update(self, dt: float,
               measured: Optional[Mapping[str, float]] = None) -> Optional[Command]:
        """The command for this tick; None for positions until a joint state was seen."""
        c = self.config
        active = self.deadman()
        u = self.inputs() if active else [0.0] * c.dims
        if c.mode == 'twist':
            vals = tuple(x * c.max_linear for x in u[:3]) + (u[3] * c.max_angular,)
            return Command('twist', vals, active)
        vel = [x * vmax * c.scale for x, vmax in zip(u, c.max_velocity)]
        if not c.sends_positions:
            return Command('velocity', tuple(vel), active)
        pressed = active and not self._was_active
        self._was_active = active
        if measured is None or any(j not in measured for j in c.joints):
            return None
        q = [measured[j] for j in c.joints]
        if pressed or self.guard.target is None:
            self.guard.anchor(q)  # each press starts on the robot: no stale target
        # Released: hold the target, kept within max_lead of the arm.
        target = self.guard.step(vel if active else [0.0] * len(q), dt, q)
        return Command('position', tuple(float(v) for v in target), active)
