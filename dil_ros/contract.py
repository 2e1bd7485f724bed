"""The robot contract: one YAML file that says how a robot's topics become policy tensors.

Every stage reads the same file (recorder, converter, trainer, policy node) and the exported
policy.ts embeds it as a mapping, so a node can refuse an artifact trained for another robot.

Example (config/contracts/mujoco_arm.yaml)::

    name: mujoco_arm
    rate_hz: 10.0          # policy grid
    n_obs_steps: 2         # To
    horizon: 16            # Tp
    n_action_steps: 8      # Ta
    observations:
      observation.state: {topic: /joint_states, type: sensor_msgs/msg/JointState,
                          field: position, joints: [a, b, c]}
      observation.environment_state: {topic: /task/goal, type: geometry_msgs/msg/Point,
                                      fields: [x, y, z]}
    action: {joints: [a, b, c], controller: arm_controller}
    teleop: {topic: /arm_controller/commands, type: std_msgs/msg/Float64MultiArray}
    limits:
      a: {lower: -2.6, upper: 2.6, max_velocity: 2.0}

Timeline (Chi et al.), one tick per 1/rate_hz::

    obs:     |o|o|                 To = n_obs_steps (newest observation = now)
    action:  |a|a|a|a|a|a|a|a|...  Tp = horizon, starting at the oldest observation
    execute:   |x|x|x|x|x|x|x|x|   Ta = n_action_steps, starting at the newest observation

Observation messages: JointState entries are picked by name (``joints``, in order) from ``field``
(position/velocity/effort); any other message type lists ``fields`` as dotted paths with optional
indices (``position.x``, ``data[2]``).
"""

from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from dil_ros.errors import DilRosError, read_yaml

JOINT_STATE = 'sensor_msgs/msg/JointState'
JOINT_STATE_FIELDS = ('position', 'velocity', 'effort')
TELEOP_TYPES = (
    'std_msgs/msg/Float64MultiArray',
    'trajectory_msgs/msg/JointTrajectory',
    'sensor_msgs/msg/JointState',
)


class ContractError(DilRosError, ValueError):
    """A contract file or mapping is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ObservationSpec:
    """One observation key: which topic and which message fields form its vector."""

    key: str
    topic: str
    type: str
    joints: Tuple[str, ...] = ()
    field: str = 'position'
    fields: Tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        return len(self.joints) if self.type == JOINT_STATE else len(self.fields)

    @property
    def names(self) -> List[str]:
        """Per-dimension names (joint names, or field paths)."""
        return list(self.joints) if self.type == JOINT_STATE else list(self.fields)


@dataclass(frozen=True)
class ActionSpec:
    """What the policy commands: absolute positions of ``joints`` through ``controller``."""

    joints: Tuple[str, ...]
    controller: str = 'arm_controller'

    @property
    def dim(self) -> int:
        return len(self.joints)


@dataclass(frozen=True)
class TopicSpec:
    topic: str
    type: str


@dataclass(frozen=True)
class JointLimit:
    lower: float
    upper: float
    max_velocity: float


@dataclass(frozen=True)
class Contract:
    name: str
    rate_hz: float
    n_obs_steps: int
    horizon: int
    n_action_steps: int
    observations: Dict[str, ObservationSpec]
    action: ActionSpec
    teleop: TopicSpec
    limits: Dict[str, JointLimit] = dc_field(default_factory=dict)
    source: str = '<mapping>'

    @property
    def obs_dims(self) -> Dict[str, int]:
        return {key: spec.dim for key, spec in self.observations.items()}

    @property
    def action_dim(self) -> int:
        return self.action.dim

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    def to_mapping(self) -> Dict[str, Any]:
        """The contract as plain YAML/JSON data (what policy.ts embeds)."""
        obs = {}
        for key, spec in self.observations.items():
            entry: Dict[str, Any] = {'topic': spec.topic, 'type': spec.type}
            if spec.type == JOINT_STATE:
                entry.update(field=spec.field, joints=list(spec.joints))
            else:
                entry['fields'] = list(spec.fields)
            obs[key] = entry
        return {
            'name': self.name,
            'rate_hz': self.rate_hz,
            'n_obs_steps': self.n_obs_steps,
            'horizon': self.horizon,
            'n_action_steps': self.n_action_steps,
            'observations': obs,
            'action': {'joints': list(self.action.joints), 'controller': self.action.controller},
            'teleop': {'topic': self.teleop.topic, 'type': self.teleop.type},
            'limits': {j: {'lower': lim.lower, 'upper': lim.upper,
                           'max_velocity': lim.max_velocity}
                       for j, lim in self.limits.items()},
        }

    def differences(self, other: 'Contract') -> List[str]:
        """Human-readable differences that matter to a policy (empty when compatible)."""
        return diff_mappings(self.to_mapping(), other.to_mapping())


def diff_mappings(a: Any, b: Any, path: str = '') -> List[str]:
    """List the paths where two contract mappings differ, with both values."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: List[str] = []
        for key in list(a) + [k for k in b if k not in a]:
            sub = f'{path}.{key}' if path else str(key)
            if key not in a:
                out.append(f'{sub}: missing in first, {b[key]!r} in second')
            elif key not in b:
                out.append(f'{sub}: {a[key]!r} in first, missing in second')
            else:
                out.extend(diff_mappings(a[key], b[key], sub))
        return out
    if isinstance(a, float) or isinstance(b, float):
        try:
            if abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a))):
                return []
        except (TypeError, ValueError):
            pass
    return [] if a == b else [f'{path}: {a!r} vs {b!r}']


class _Reader:
    """Typed access to a mapping that reports errors as '<file>: <key path>: <problem>'."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> ContractError:
        return ContractError(f'{self.source}: {key}: {problem}')

    def mapping(self, value: Any, key: str, allowed: Tuple[str, ...],
                required: Tuple[str, ...]) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(key, f'expected a mapping, got {type(value).__name__}')
        for k in value:
            if k not in allowed:
                raise self.fail(f'{key}.{k}' if key else str(k),
                                f'unknown key (allowed: {", ".join(allowed)})')
        for k in required:
            if k not in value:
                raise self.fail(f'{key}.{k}' if key else k, 'missing required key')
        return value

    def typed(self, value: Any, key: str, kind: Union[type, Tuple[type, ...]]) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f'expected {kinds[0].__name__}, got bool')
        if not isinstance(value, kinds):
            raise self.fail(key, f'expected {kinds[0].__name__}, got {type(value).__name__}'
                                 f' ({value!r})')
        return value

    def positive_int(self, value: Any, key: str) -> int:
        if self.typed(value, key, int) < 1:
            raise self.fail(key, f'must be >= 1, got {value}')
        return value

    def names(self, value: Any, key: str) -> Tuple[str, ...]:
        self.typed(value, key, list)
        if not value:
            raise self.fail(key, 'must not be empty')
        for i, name in enumerate(value):
            if not isinstance(name, str) or not name:
                raise self.fail(f'{key}[{i}]', f'expected a non-empty string, got {name!r}')
        seen = set()
        for name in value:
            if name in seen:
                raise self.fail(key, f'duplicate name {name!r}')
            seen.add(name)
        return tuple(value)

    def topic(self, value: Any, key: str) -> str:
        self.typed(value, key, str)
        if not value.startswith('/') and not value.startswith('~'):
            raise self.fail(key, f'topic must be absolute (start with /), got {value!r}')
        return value

    def msg_type(self, value: Any, key: str) -> str:
        self.typed(value, key, str)
        parts = value.split('/')
        if len(parts) != 3 or parts[1] != 'msg' or not all(parts):
            raise self.fail(key, f"message type must look like 'pkg/msg/Type', got {value!r}")
        return value


_TOP_KEYS = ('name', 'rate_hz', 'n_obs_steps', 'horizon', 'n_action_steps', 'observations',
             'action', 'teleop', 'limits')


def contract_from_mapping(data: Any, source: str = '<mapping>') -> Contract:
    """Validate a mapping into a Contract; errors name ``source`` and the offending key."""
    r = _Reader(source)
    top = r.mapping(data, '', _TOP_KEYS, _TOP_KEYS[:-1])
    name = r.typed(top['name'], 'name', str)
    rate = float(r.typed(top['rate_hz'], 'rate_hz', (float, int)))
    if rate <= 0:
        raise r.fail('rate_hz', f'must be > 0, got {rate}')
    to = r.positive_int(top['n_obs_steps'], 'n_obs_steps')
    tp = r.positive_int(top['horizon'], 'horizon')
    ta = r.positive_int(top['n_action_steps'], 'n_action_steps')
    if to + ta - 1 > tp:
        raise r.fail('n_action_steps', f'n_obs_steps + n_action_steps - 1 = {to + ta - 1} '
                                       f'must not exceed horizon = {tp}')

    obs_map = r.typed(top['observations'], 'observations', Mapping)
    if not obs_map:
        raise r.fail('observations', 'must list at least one observation key')
    observations = {}
    for key, entry in obs_map.items():
        path = f'observations.{key}'
        if not isinstance(key, str) or not key.startswith('observation.'):
            raise r.fail(path, "observation keys must start with 'observation.'")
        e = r.mapping(entry, path, ('topic', 'type', 'field', 'joints', 'fields'),
                      ('topic', 'type'))
        topic = r.topic(e['topic'], f'{path}.topic')
        mtype = r.msg_type(e['type'], f'{path}.type')
        if mtype == JOINT_STATE:
            if 'fields' in e:
                raise r.fail(f'{path}.fields', "JointState observations use 'joints' and 'field'")
            if 'joints' not in e:
                raise r.fail(f'{path}.joints', 'missing required key for a JointState topic')
            fld = r.typed(e.get('field', 'position'), f'{path}.field', str)
            if fld not in JOINT_STATE_FIELDS:
                raise r.fail(f'{path}.field', f'must be one of {JOINT_STATE_FIELDS}, got {fld!r}')
            observations[key] = ObservationSpec(key, topic, mtype,
                                                joints=r.names(e['joints'], f'{path}.joints'),
                                                field=fld)
        else:
            for bad in ('joints', 'field'):
                if bad in e:
                    raise r.fail(f'{path}.{bad}', f"only JointState topics take '{bad}'; "
                                                  "list dotted message paths under 'fields'")
            if 'fields' not in e:
                raise r.fail(f'{path}.fields', 'missing required key')
            observations[key] = ObservationSpec(key, topic, mtype,
                                                fields=r.names(e['fields'], f'{path}.fields'))

    act = r.mapping(top['action'], 'action', ('joints', 'controller'), ('joints',))
    action = ActionSpec(joints=r.names(act['joints'], 'action.joints'),
                        controller=r.typed(act.get('controller', 'arm_controller'),
                                           'action.controller', str))

    tel = r.mapping(top['teleop'], 'teleop', ('topic', 'type'), ('topic', 'type'))
    teleop = TopicSpec(r.topic(tel['topic'], 'teleop.topic'),
                       r.msg_type(tel['type'], 'teleop.type'))
    if teleop.type not in TELEOP_TYPES:
        raise r.fail('teleop.type', f'must be one of {TELEOP_TYPES}, got {teleop.type!r}')

    limits: Dict[str, JointLimit] = {}
    lim_map = top.get('limits') or {}
    r.typed(lim_map, 'limits', Mapping)
    for joint, entry in lim_map.items():
        path = f'limits.{joint}'
        if joint not in action.joints:
            raise r.fail(path, f'joint {joint!r} is not in action.joints {list(action.joints)}')
        e = r.mapping(entry, path, ('lower', 'upper', 'max_velocity'),
                      ('lower', 'upper', 'max_velocity'))
        lo = float(r.typed(e['lower'], f'{path}.lower', (float, int)))
        hi = float(r.typed(e['upper'], f'{path}.upper', (float, int)))
        vmax = float(r.typed(e['max_velocity'], f'{path}.max_velocity', (float, int)))
        if not lo < hi:
            raise r.fail(path, f'lower ({lo}) must be below upper ({hi})')
        if vmax <= 0:
            raise r.fail(f'{path}.max_velocity', f'must be > 0, got {vmax}')
        limits[joint] = JointLimit(lo, hi, vmax)

    return Contract(name=name, rate_hz=rate, n_obs_steps=to, horizon=tp, n_action_steps=ta,
                    observations=observations, action=action, teleop=teleop, limits=limits,
                    source=source)


def load_contract(path: Union[str, Path]) -> Contract:
    """Read and validate a contract YAML file."""
    return contract_from_mapping(read_yaml(path, 'contract', ContractError), str(path))


def default_contract_path() -> Path:
    """The embedded MuJoCo arm's contract (source tree or installed share/ directory)."""
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / 'config' / 'contracts' / 'mujoco_arm.yaml']
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory('dil_ros')) / 'config' / 'contracts'
                          / 'mujoco_arm.yaml')
    except Exception:  # noqa: BLE001 - ament index is optional
        pass
    for c in candidates:
        if c.exists():
            return c
    raise ContractError('default contract config/contracts/mujoco_arm.yaml not found '
                        f'(looked in {", ".join(map(str, candidates))})')


def resolve_contract(contract: Optional[Union[str, Path, Contract]]) -> Contract:
    if isinstance(contract, Contract):
        return contract
    return load_contract(contract if contract else default_contract_path())
