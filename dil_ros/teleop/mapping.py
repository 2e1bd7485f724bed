"""Map gamepad/keyboard input to robot commands, behind a dead-man switch.

Input arrives as :class:`InputEvent` s (from pygame through :func:`from_pygame`, or synthetic in
tests) and is
folded into an :class:`InputState`. Every control tick, :meth:`TeleopMapper.update` turns the state
into a
:class:`Command`:

* ``joint_velocity`` - one signed input per joint (stick axis, or a +/- key pair) times the joint's
  ``max_velocity`` and ``scale``: joint velocities in the contract's ``action.joints`` order.
* ``joint_position`` - the same velocities integrated into an absolute position target, starting
  from the
  measured joint positions (``/joint_states``) when the dead-man is pressed, clamped to the
  contract limits.
* ``twist`` - inputs as (linear x, y, z, angular z), times ``max_linear`` / ``max_angular``.

Nothing moves unless the dead-man is held; on release the command is *hold*: zero velocity, the
last target
position, or a zero twist. A 'reset' event (device unplugged, window lost focus) releases
everything.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

MODES = ('joint_velocity', 'joint_position', 'twist')


@dataclass(frozen=True)
class InputEvent:
    """One input change.

    kind: 'axis' (id: index, value in [-1, 1]), 'button' (id: index, value: pressed),
    'key' (id: pygame key name, value: pressed) or 'reset' (release everything).
    """

    kind: str
    id: Union[int, str] = 0
    value: float = 0.0


@dataclass
class InputState:
    axes: Dict[int, float] = field(default_factory=dict)
    buttons: Set[int] = field(default_factory=set)
    keys: Set[str] = field(default_factory=set)

    def apply(self, event: InputEvent) -> None:
        if event.kind == 'axis':
            self.axes[int(event.id)] = max(-1.0, min(1.0, float(event.value)))
        elif event.kind == 'button':
            (self.buttons.add if event.value else self.buttons.discard)(int(event.id))
        elif event.kind == 'key':
            (self.keys.add if event.value else self.keys.discard)(str(event.id))
        elif event.kind == 'reset':
            self.clear()
        else:
            raise ValueError(f'unknown input event kind {event.kind!r}')

    def clear(self) -> None:
        self.axes.clear()
        self.buttons.clear()
        self.keys.clear()


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

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {self.mode!r}')
        if len(self.max_velocity) != len(self.joints):
            raise ValueError('max_velocity needs one value per joint')
        if self.mode != 'twist' and len(self.axes) < len(self.joints) and \
                len(self.keys) < len(self.joints):
            raise ValueError(f'{len(self.joints)} joints but only {len(self.axes)} axes and '
                             f'{len(self.keys)} key pairs mapped')
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f'scale must be in (0, 1], got {self.scale}')

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


@dataclass(frozen=True)
class Command:
    """kind: 'velocity', 'position' or 'twist'; ``active`` False means hold (dead-man released)."""

    kind: str
    values: Tuple[float, ...]
    active: bool


class TeleopMapper:
    """Dead-man handling, input shaping, position integration and clamping."""

    def __init__(self, config: TeleopConfig):
        self.config = config
        self.state = InputState()
        self.target: Optional[List[float]] = None
        self._was_active = False

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

    def update(self, dt: float,
               measured: Optional[Mapping[str, float]] = None) -> Optional[Command]:
        """The command for this tick; None in position mode until a joint state was seen."""
        c = self.config
        active = self.deadman()
        u = self.inputs() if active else [0.0] * c.dims
        if c.mode == 'twist':
            vals = tuple(x * c.max_linear for x in u[:3]) + (u[3] * c.max_angular,)
            return Command('twist', vals, active)
        vel = [x * vmax * c.scale for x, vmax in zip(u, c.max_velocity)]
        if c.mode == 'joint_velocity':
            return Command('velocity', tuple(vel), active)
        if active and not self._was_active and measured is not None:
            self.target = None  # re-anchor on the robot at each press: no jump to a stale target
        self._was_active = active
        if self.target is None:
            if measured is None or any(j not in measured for j in c.joints):
                return None
            self.target = [self.clamp(i, measured[j]) for i, j in enumerate(c.joints)]
        if active:
            self.target = [self.clamp(i, p + v * dt) for i, (p, v) in
                           enumerate(zip(self.target, vel))]
        return Command('position', tuple(self.target), active)

    def clamp(self, i: int, value: float) -> float:
        c = self.config
        lo = c.lower[i] if i < len(c.lower) else float('-inf')
        hi = c.upper[i] if i < len(c.upper) else float('inf')
        return min(hi, max(lo, value))


def from_pygame(event) -> Optional[InputEvent]:
    """Translate one pygame event (joystick or keyboard) into an InputEvent, or None."""
    import pygame
    if event.type == pygame.JOYAXISMOTION:
        return InputEvent('axis', event.axis, event.value)
    if event.type in (pygame.JOYBUTTONDOWN, pygame.JOYBUTTONUP):
        return InputEvent('button', event.button, float(event.type == pygame.JOYBUTTONDOWN))
    if event.type in (pygame.KEYDOWN, pygame.KEYUP):
        return InputEvent('key', pygame.key.name(event.key), float(event.type == pygame.KEYDOWN))
    if event.type in (pygame.JOYDEVICEREMOVED, pygame.WINDOWFOCUSLOST):
        return InputEvent('reset')
    return None
