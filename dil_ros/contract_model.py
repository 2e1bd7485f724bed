"""The contract's typed form: frozen dataclasses, their mapping, and what a policy depends on.

The YAML format and its validation live in :mod:`dil_ros.contract`, which re-exports these
names; import them from there.
"""

from dataclasses import dataclass, field as dc_field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from dil_ros.errors import DilRosError
from dil_ros.sampling import DEFAULT_RULE

JOINT_STATE = 'sensor_msgs/msg/JointState'
JOINT_STATE_FIELDS = ('position', 'velocity', 'effort')
IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'
IMAGE_PREFIX = 'observation.images.'
# Encodings a camera key accepts unless its entry lists ``encodings`` (mono8 becomes 3 channels).
DEFAULT_ENCODINGS = {
    IMAGE: ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'),
    COMPRESSED_IMAGE: ('jpeg', 'png'),
}
TELEOP_TYPES = (
    'std_msgs/msg/Float64MultiArray',
    'trajectory_msgs/msg/JointTrajectory',
    'sensor_msgs/msg/JointState',
)


class ContractError(DilRosError, ValueError):
    """A contract file or mapping is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ObservationSpec:
    """One observation key: which topic and which message fields form its vector.

    A dataset-only key has no ``topic``/``type``; ``labels`` then name its dimensions.
    A camera key (``observation.images.<camera>``) has ``height``/``width`` (the policy's input
    size), an optional centre/random ``crop`` (height, width) and the ``encodings`` it accepts.
    """

    key: str
    topic: str
    type: str
    joints: Tuple[str, ...] = ()
    field: str = 'position'
    fields: Tuple[str, ...] = ()
    indices: Tuple[int, ...] = ()
    labels: Tuple[str, ...] = ()
    max_age_s: Optional[float] = None  # None: the converter's / node's default; inf: latched
    height: int = 0  # > 0 for a camera key
    width: int = 0
    crop: Tuple[int, ...] = ()
    encodings: Tuple[str, ...] = ()

    @property
    def has_topic(self) -> bool:
        return bool(self.topic)

    @property
    def is_image(self) -> bool:
        return self.height > 0

    @property
    def names(self) -> List[str]:
        """Per-dimension names (joint names, field paths, or a dataset-only key's names);
        a camera's axes (LeRobot's video feature names)."""
        if self.is_image:
            return ['height', 'width', 'channels']
        if self.type == JOINT_STATE:
            return list(self.joints)
        return list(self.fields) if self.has_topic else list(self.labels)

    @property
    def dim(self) -> int:
        """Width of a low-dim key's vector (a camera key has none: 0)."""
        return 0 if self.is_image else len(self.names)


@dataclass(frozen=True)
class ActionSpec:
    """What the policy commands: absolute positions of ``joints`` through ``controller``.

    ``state_joints[i]`` is the measured joint that corresponds to ``joints[i]``.
    """

    joints: Tuple[str, ...]
    controller: str = 'arm_controller'
    state_joints: Tuple[str, ...] = ()
    max_state_error: Optional[float] = None  # None: the converter's default bound

    def __post_init__(self):
        if not self.state_joints:
            object.__setattr__(self, 'state_joints', tuple(self.joints))

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
    teleop: Optional[TopicSpec]
    limits: Dict[str, JointLimit] = dc_field(default_factory=dict)
    source: str = '<mapping>'
    sampling: str = DEFAULT_RULE

    @property
    def image_keys(self) -> List[str]:
        return [key for key, spec in self.observations.items() if spec.is_image]

    @property
    def lowdim_keys(self) -> List[str]:
        return [key for key, spec in self.observations.items() if not spec.is_image]

    @property
    def obs_dims(self) -> Dict[str, int]:
        """Low-dim keys only; cameras are in :attr:`image_shapes`."""
        return {key: self.observations[key].dim for key in self.lowdim_keys}

    @property
    def image_shapes(self) -> Dict[str, Tuple[int, int, int]]:
        """Each camera's policy input (height, width, 3) before any crop."""
        return {key: (self.observations[key].height, self.observations[key].width, 3)
                for key in self.image_keys}

    @property
    def action_dim(self) -> int:
        return self.action.dim

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    def measured_action(self) -> Optional[Tuple[str, Tuple[int, ...]]]:
        """(key, columns) of the JointState position observation that lists every
        ``action.state_joints`` joint, the columns in action order; None when none does (a
        velocity action)."""
        joints = self.action.state_joints
        for key, spec in self.observations.items():
            if spec.type == JOINT_STATE and spec.field == 'position' and set(joints) <= set(
                    spec.joints):
                return key, tuple(spec.joints.index(j) for j in joints)
        return None

    def require_topics(self, user: str) -> None:
        """Raise ContractError unless every key has a ROS topic (``user`` says who needs it)."""
        for key, spec in self.observations.items():
            if not spec.has_topic:
                raise ContractError(f'{self.source}: observations.{key}: has no topic/type '
                                    f'(a dataset-only key); {user} needs a ROS topic for '
                                    'every observation')
        if self.teleop is None:
            raise ContractError(f'{self.source}: teleop: missing; {user} needs the teleop topic')

    def to_mapping(self) -> Dict[str, Any]:
        """The contract as plain YAML/JSON data (what policy.ts embeds)."""
        obs = {}
        for key, spec in self.observations.items():
            entry: Dict[str, Any]
            if spec.is_image:
                entry = image_mapping(spec)
            elif not spec.has_topic:
                entry = {'names': list(spec.labels)}
            elif spec.type == JOINT_STATE:
                entry = {'topic': spec.topic, 'type': spec.type, 'field': spec.field,
                         'joints': list(spec.joints)}
                if spec.indices:
                    entry['indices'] = list(spec.indices)
            else:
                entry = {'topic': spec.topic, 'type': spec.type, 'fields': list(spec.fields)}
            if spec.max_age_s is not None:  # JSON has no infinity: 'inf' reads back as one
                entry['max_age_s'] = spec.max_age_s if spec.max_age_s < float('inf') else 'inf'
            obs[key] = entry
        action: Dict[str, Any] = {'joints': list(self.action.joints),
                                  'controller': self.action.controller}
        if self.action.state_joints != self.action.joints:
            action['state_joints'] = list(self.action.state_joints)
        if self.action.max_state_error is not None:
            action['max_state_error'] = self.action.max_state_error
        out = {
            'name': self.name,
            'rate_hz': self.rate_hz,
            'n_obs_steps': self.n_obs_steps,
            'horizon': self.horizon,
            'n_action_steps': self.n_action_steps,
            'sampling': self.sampling,
            'observations': obs,
            'action': action,
            'limits': {j: {'lower': lim.lower, 'upper': lim.upper,
                           'max_velocity': lim.max_velocity}
                       for j, lim in self.limits.items()},
        }
        if self.teleop is not None:
            out['teleop'] = {'topic': self.teleop.topic, 'type': self.teleop.type}
        return out

    def policy_mapping(self) -> Dict[str, Any]:
        """The part of the contract a trained policy depends on (see the module docstring)."""
        obs = {}
        for key, spec in self.observations.items():
            if spec.is_image:
                obs[key] = {'height': spec.height, 'width': spec.width, 'crop': list(spec.crop)}
                continue
            obs[key] = {'names': spec.names}
            if spec.type == JOINT_STATE:
                obs[key]['field'] = spec.field
        return {
            'rate_hz': self.rate_hz,
            'n_obs_steps': self.n_obs_steps,
            'horizon': self.horizon,
            'n_action_steps': self.n_action_steps,
            'sampling': self.sampling,
            'observations': obs,
            'action': {'joints': list(self.action.joints)},
        }

    def differences(self, other: 'Contract', labels: Tuple[str, str] = ('policy', 'robot')
                    ) -> List[str]:
        """What a policy trained on ``self`` would see differently on ``other`` (empty: none).

        Lines read ``rate_hz: policy 10.0, robot 20.0`` (``labels`` name the two sides).
        """
        return diff_mappings(self.policy_mapping(), other.policy_mapping(), labels=labels)


def image_mapping(spec: ObservationSpec) -> Dict[str, Any]:
    """A camera entry as YAML/JSON data (encodings only where they differ from the default)."""
    entry: Dict[str, Any] = {'topic': spec.topic, 'type': spec.type} if spec.has_topic else {}
    entry.update(height=spec.height, width=spec.width)
    if spec.crop:
        entry['crop'] = list(spec.crop)
    if spec.has_topic and spec.encodings != DEFAULT_ENCODINGS[spec.type]:
        entry['encodings'] = list(spec.encodings)
    return entry


def diff_mappings(a: Any, b: Any, path: str = '',
                  labels: Tuple[str, str] = ('policy', 'robot')) -> List[str]:
    """List the paths where two contract mappings differ, with both values and their sides."""
    first, second = labels
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: List[str] = []
        for key in list(a) + [k for k in b if k not in a]:
            sub = f'{path}.{key}' if path else str(key)
            if key not in a:
                out.append(f'{sub}: missing in {first}, {second} {b[key]!r}')
            elif key not in b:
                out.append(f'{sub}: {first} {a[key]!r}, missing in {second}')
            else:
                out.extend(diff_mappings(a[key], b[key], sub, labels))
        return out
    if isinstance(a, float) or isinstance(b, float):
        try:
            if abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a))):
                return []
        except (TypeError, ValueError):
            pass
    return [] if a == b else [f'{path}: {first} {a!r}, {second} {b!r}']
