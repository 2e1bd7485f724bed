"""Pull contract vectors out of ROS messages: rosbags-deserialised or rclpy, by attribute access.

Shared by the converter, the recorder and the policy node, so it depends on numpy and the
contract only.

* JointState observations pick ``spec.field`` (position/velocity/effort) by ``spec.joints``
  names, in contract order; extra joints are ignored. A message with an empty ``name`` array is
  read at the contract's ``indices`` (names, when present, always win).
* Any other type lists ``spec.fields`` as dotted paths with optional indices:
  ``position.x``, ``data[2]``, ``pose.pose.orientation.w``, ``points[0].positions[1]``.
* Teleop actions: Float64MultiArray (``data`` in action-joint order), JointTrajectory (first
  point's positions, by ``joint_names``) or JointState (``position`` by ``name``).
"""

import re
from functools import lru_cache
from typing import Any, List, Sequence, Tuple, Union

import numpy as np

from dil_ros.contract import JOINT_STATE
from dil_ros.errors import DilRosError

FLOAT64_MULTI_ARRAY = 'std_msgs/msg/Float64MultiArray'
JOINT_TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory'
_TOKEN = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$')

PathStep = Union[str, int]


class FieldError(DilRosError, ValueError):
    """A message lacks a field or joint the contract asks for; names the topic and field."""


@lru_cache(maxsize=256)
def parse_path(path: str) -> Tuple[PathStep, ...]:
    """``'points[0].positions[1]'`` -> ``('points', 0, 'positions', 1)``."""
    steps: List[PathStep] = []
    for part in path.split('.'):
        m = _TOKEN.match(part)
        if not m:
            raise FieldError(f'bad field path {path!r} (expected dotted names with optional '
                             '[i] indices, like position.x or data[2])')
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r'\[(\d+)\]', m.group(2)))
    return tuple(steps)


def get_path(msg: Any, path: str, topic: str = '') -> float:
    """The numeric value at a dotted path of ``msg``."""
    value = msg
    for step in parse_path(path):
        try:
            value = value[step] if isinstance(step, int) else getattr(value, step)
        except (AttributeError, IndexError, TypeError):
            what = 'index' if isinstance(step, int) else 'field'
            raise FieldError(f'{topic or "message"}: {what} {step!r} of {path!r} not found in '
                             f'{type(msg).__name__}') from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FieldError(f'{topic or "message"}: field {path!r} is not a number '
                         f'({type(value).__name__})') from None


@lru_cache(maxsize=64)
def _joint_index(names: Tuple[str, ...], joints: Tuple[str, ...], topic: str) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    for joint in joints:
        if joint not in index:
            raise FieldError(f'{topic}: joint {joint!r} missing from message (has {list(names)})')
    return np.array([index[j] for j in joints], dtype=np.intp)


def pick_joints(names: Sequence[str], values: Any, joints: Sequence[str], topic: str,
                field: str) -> np.ndarray:
    """``values`` of ``joints`` (in that order) from a name-indexed message array."""
    idx = _joint_index(tuple(names), tuple(joints), topic)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) < len(names):
        raise FieldError(f'{topic}: {field} has {len(values)} values for {len(names)} joints')
    return values[idx]


def pick_indices(values: Any, indices: Sequence[int], topic: str, field: str) -> np.ndarray:
    """``values[indices]`` from a JointState array that carries no names."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) <= max(indices):
        raise FieldError(f'{topic}: {field} has {len(values)} values; the contract reads '
                         f'indices {list(indices)}')
    return values[list(indices)]


def extract(msg: Any, spec: Any) -> np.ndarray:
    """The observation vector of ``spec`` (a contract ObservationSpec) from one message."""
    if spec.type == JOINT_STATE:
        values = getattr(msg, spec.field)
        if len(msg.name) == 0:
            if not spec.indices:
                raise FieldError(f'{spec.topic}: JointState has no joint names; give indices '
                                 f'beside joints {list(spec.joints)} in the contract to read it')
            return pick_indices(values, spec.indices, spec.topic, spec.field)
        return pick_joints(msg.name, values, spec.joints, spec.topic, spec.field)
    return np.array([get_path(msg, path, spec.topic) for path in spec.fields], dtype=np.float64)


def extract_action(msg: Any, msg_type: str, joints: Sequence[str], topic: str = '') -> np.ndarray:
    """The action vector (``joints`` order) from a teleop message of one of the three types."""
    topic = topic or 'teleop'
    if msg_type == FLOAT64_MULTI_ARRAY:
        data = np.asarray(msg.data, dtype=np.float64).reshape(-1)
        if len(data) != len(joints):
            raise FieldError(f'{topic}: Float64MultiArray has {len(data)} values, action has '
                             f'{len(joints)} joints {list(joints)}')
        return data
    if msg_type == JOINT_TRAJECTORY:
        if not msg.points:
            raise FieldError(f'{topic}: JointTrajectory has no points')
        return pick_joints(msg.joint_names, msg.points[0].positions, joints, topic,
                           'points[0].positions')
    if msg_type == JOINT_STATE:
        return pick_joints(msg.name, msg.position, joints, topic, 'position')
    raise FieldError(f'{topic}: teleop type {msg_type!r} is not one of '
                     f'{FLOAT64_MULTI_ARRAY}, {JOINT_TRAJECTORY}, {JOINT_STATE}')
