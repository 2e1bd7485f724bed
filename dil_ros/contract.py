"""The robot contract: one YAML file that says how a robot's topics become policy tensors.

Every stage reads the same file (recorder, converter, trainer, policy node) and the exported
policy.ts embeds it as a mapping, so a node can refuse an artifact trained for another robot.

Example (config/contracts/mujoco_arm.yaml)::

    name: mujoco_arm
    rate_hz: 10.0          # policy grid
    n_obs_steps: 2         # To
    horizon: 16            # Tp
    n_action_steps: 8      # Ta
    sampling: previous     # how observations are put on the grid (optional, this default)
    observations:
      observation.state: {topic: /joint_states, type: sensor_msgs/msg/JointState,
                          field: position, joints: [a, b, c]}
      observation.environment_state: {topic: /task/goal, type: geometry_msgs/msg/Point,
                                      fields: [x, y, z]}
    action: {joints: [a, b, c], controller: arm_controller}
    teleop: {topic: /arm_controller/commands, type: std_msgs/msg/Float64MultiArray}
    limits:                # required for every action joint
      a: {lower: -2.6, upper: 2.6, max_velocity: 2.0}
      ...

Timeline (Chi et al.), one tick per 1/rate_hz::

    obs:     |o|o|                 To = n_obs_steps (newest observation = now)
    action:  |a|a|a|a|a|a|a|a|...  Tp = horizon, starting at the oldest observation
    execute:   |x|x|x|x|x|x|x|x|   Ta = n_action_steps, starting at the newest observation

Observation messages: JointState entries are picked by name (``joints``, in order) from ``field``
(position/velocity/effort). Publishers that send an empty ``name`` array are read through
``indices`` (optional, one per joint: ``indices: [0, 1, 2]``); a message that carries names is
always read by name. Any other message type lists ``fields`` as dotted paths with optional indices
(``position.x``, ``data[2]``). No two entries (teleop included) may give one topic two types.

Dataset-only keys: an entry with neither ``topic`` nor ``type`` lists just the per-dimension
``names`` (``observation.state: {names: [x, y]}``). Such a contract describes a dataset from a
non-ROS source (``dil-ros import-zarr``); it trains and exports, but the recorder, the converter
and the nodes refuse it (``Contract.require_topics``). ``teleop`` is optional for the same reason.

Action: ``joints`` are what the policy commands, in order. ``state_joints`` (optional, default
``joints``) name the *measured* joint that corresponds to each action joint, for robots whose
state and command use different names (``/joint_states`` q0..q2, commands q1..q3); the node holds
at the measured position of ``state_joints``, and teleop messages are read by the action names.

Staleness (``max_age_s``, optional on each observation entry, seconds or ``.inf``): how long a
key's newest value stays valid. The converter carries a key's last value this long past its last
message before it ends the episode, and the policy node counts the key stale after this long
instead of its ``observation_timeout_s``: training and serving accept the same ages. Give
``.inf`` to a latched topic published once (a goal); leave it out for streams (both sides then use
their default, the converter's ``--max-staleness`` and the node's ``observation_timeout_s``, both
0.5 s).

State-action agreement (``action.max_state_error``, optional, in the action's units): the largest
difference between an action joint's recorded command and its measured ``state_joints`` position
that is still tracking; the converter flags frames beyond it (a reset or a blocked joint inside an
episode). Default: what the joint can travel in 0.5 s at its ``max_velocity``.

Limits are required for every action joint: ``lower``/``upper`` clip each command and
``max_velocity`` bounds its change per second. For a velocity action (a twist base, joints named
``linear.x``, ``angular.z``) the same keys bound the commanded velocity and its change per second
(an acceleration). The node applies the limits of the robot's contract, not those embedded in the
policy, so tightening them never needs a re-export.

Sampling (``sampling: previous | linear``, default ``previous``): the one rule, in
:mod:`dil_ros.sampling`, by which both the converter (training data) and the policy node (run
time) put observations on the policy grid. ``previous`` (zero-order hold) takes the newest message
at or before each grid instant: it is causal (what the robot had seen at that instant, no waiting
for the next message) and is how every dataset converted so far was sampled. ``linear``
interpolates between the messages either side; it is not causal: the converter sees the message
after each instant, while the node, whose window ends at the newest header stamp, holds
headerless keys (stamped on receipt) at their latest value.

Cameras (``observation.images.<camera>``, Image or CompressedImage, with ``height``, ``width``,
optional ``crop`` and ``encodings``): see :mod:`dil_ros.contract_images`.

What a policy depends on (``Contract.differences``, the artifact check): observation keys and
their names in order (joints or field paths), the JointState field, each camera's height, width
and crop, action joints, rate_hz, To/Tp/Ta and sampling. Topic names, message types, camera
encodings, teleop, controller, limits, indices, state_joints and the contract's name are the
robot's own business.
"""

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from dil_ros.contract_images import image_observation, IMAGE_KEYS, IMAGE_TYPES, is_image_entry
from dil_ros.contract_model import (  # noqa: F401 - the contract's public names
    ActionSpec, COMPRESSED_IMAGE, Contract, ContractError, DEFAULT_ENCODINGS, diff_mappings, IMAGE,
    IMAGE_PREFIX, JOINT_STATE, JOINT_STATE_FIELDS, JointLimit, ObservationSpec, TELEOP_TYPES,
    TopicSpec)
from dil_ros.contract_reader import ContractReader
from dil_ros.errors import read_yaml
from dil_ros.sampling import DEFAULT_RULE, RULES


_TOP_KEYS = ('name', 'rate_hz', 'n_obs_steps', 'horizon', 'n_action_steps', 'observations',
             'action', 'limits', 'teleop', 'sampling')
_REQUIRED = _TOP_KEYS[:8]


def _observation(r: ContractReader, key: Any, entry: Any) -> ObservationSpec:
    path = f'observations.{key}'
    if not isinstance(key, str) or not key.startswith('observation.'):
        raise r.fail(path, "observation keys must start with 'observation.'")
    e = r.mapping(entry, path, ('topic', 'type', 'field', 'joints', 'indices', 'fields',
                                'names', 'max_age_s') + IMAGE_KEYS, ())
    age = r.positive(e['max_age_s'], f'{path}.max_age_s', inf=True) if 'max_age_s' in e else None
    if is_image_entry(key, e):
        return image_observation(r, key, e, age)
    for k in IMAGE_KEYS:
        if k in e:
            raise r.fail(f'{path}.{k}', f'only camera keys ({IMAGE_PREFIX}<camera>, '
                                        f'{" or ".join(IMAGE_TYPES)}) take {k!r}')
    if 'topic' not in e and 'type' not in e:
        for bad in ('field', 'joints', 'indices', 'fields', 'max_age_s'):
            if bad in e:
                raise r.fail(f'{path}.{bad}', 'a key without topic/type lists only its names')
        if 'names' not in e:
            raise r.fail(f'{path}.topic', 'missing required key (or give only names: [...] '
                                          'for a dataset-only key)')
        return ObservationSpec(key, '', '', labels=r.names(e['names'], f'{path}.names'))
    for k in ('topic', 'type'):
        if k not in e:
            raise r.fail(f'{path}.{k}', 'missing required key')
    if 'names' in e:
        raise r.fail(f'{path}.names', "only dataset-only keys (no topic/type) take 'names'")
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
        joints = r.names(e['joints'], f'{path}.joints')
        indices = r.indices(e['indices'], f'{path}.indices', len(joints)) \
            if 'indices' in e else ()
        return ObservationSpec(key, topic, mtype, joints=joints, field=fld, indices=indices,
                               max_age_s=age)
    for bad in ('joints', 'field', 'indices'):
        if bad in e:
            raise r.fail(f'{path}.{bad}', f"only JointState topics take '{bad}'; "
                                          "list dotted message paths under 'fields'")
    if 'fields' not in e:
        raise r.fail(f'{path}.fields', 'missing required key')
    return ObservationSpec(key, topic, mtype, fields=r.names(e['fields'], f'{path}.fields'),
                           max_age_s=age)


def _action(r: ContractReader, value: Any, observations: Dict[str, ObservationSpec]) -> ActionSpec:
    act = r.mapping(value, 'action', ('joints', 'controller', 'state_joints', 'max_state_error'),
                    ('joints',))
    joints = r.names(act['joints'], 'action.joints')
    controller = r.typed(act.get('controller', 'arm_controller'), 'action.controller', str)
    bound = (r.positive(act['max_state_error'], 'action.max_state_error')
             if 'max_state_error' in act else None)
    if 'state_joints' not in act:
        return ActionSpec(joints, controller, max_state_error=bound)
    state = r.names(act['state_joints'], 'action.state_joints')
    if len(state) != len(joints):
        raise r.fail('action.state_joints', f'expected one measured joint per action joint '
                                            f'({len(joints)}), got {len(state)}')
    measured = set()
    for spec in observations.values():
        if spec.type == JOINT_STATE and spec.field == 'position':
            measured.update(spec.joints)
    for joint in state:
        if joint not in measured:
            raise r.fail('action.state_joints', f'joint {joint!r} is not in any JointState '
                                                'position observation')
    return ActionSpec(joints, controller, state, bound)


def _limits(r: ContractReader, value: Any, action: ActionSpec) -> Dict[str, JointLimit]:
    r.typed(value, 'limits', Mapping)
    for joint in value:
        if joint not in action.joints:
            raise r.fail(f'limits.{joint}', f'joint {joint!r} is not in action.joints '
                                            f'{list(action.joints)}')
    limits: Dict[str, JointLimit] = {}
    for joint in action.joints:
        path = f'limits.{joint}'
        if joint not in value:
            raise r.fail(path, 'missing (every action joint needs lower, upper and '
                               'max_velocity; a velocity action gives velocity bounds)')
        e = r.mapping(value[joint], path, ('lower', 'upper', 'max_velocity'),
                      ('lower', 'upper', 'max_velocity'))
        lo = float(r.typed(e['lower'], f'{path}.lower', (float, int)))
        hi = float(r.typed(e['upper'], f'{path}.upper', (float, int)))
        vmax = float(r.typed(e['max_velocity'], f'{path}.max_velocity', (float, int)))
        if not lo < hi:
            raise r.fail(path, f'lower ({lo}) must be below upper ({hi})')
        if vmax <= 0:
            raise r.fail(f'{path}.max_velocity', f'must be > 0, got {vmax}')
        limits[joint] = JointLimit(lo, hi, vmax)
    return limits


def _check_topic_types(r: ContractReader, observations: Dict[str, ObservationSpec],
                       teleop: Optional[TopicSpec]) -> None:
    """One topic carries one message type; name the topic and both types otherwise."""
    seen: Dict[str, Tuple[str, str]] = {}
    entries = [(f'observations.{k}.type', s.topic, s.type) for k, s in observations.items()
               if s.has_topic]
    if teleop is not None:
        entries.append(('teleop.type', teleop.topic, teleop.type))
    for path, topic, mtype in entries:
        if topic in seen and seen[topic][1] != mtype:
            raise r.fail(path, f'topic {topic} is {mtype} here but {seen[topic][1]} in '
                               f'{seen[topic][0]}; one topic carries one type')
        seen.setdefault(topic, (path, mtype))


def contract_from_mapping(data: Any, source: str = '<mapping>') -> Contract:
    """Validate a mapping into a Contract; errors name ``source`` and the offending key."""
    r = ContractReader(source)
    top = r.mapping(data, '', _TOP_KEYS, _REQUIRED)
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
    sampling = r.typed(top.get('sampling', DEFAULT_RULE), 'sampling', str)
    if sampling not in RULES:
        raise r.fail('sampling', f'must be one of {RULES}, got {sampling!r}')

    obs_map = r.typed(top['observations'], 'observations', Mapping)
    if not obs_map:
        raise r.fail('observations', 'must list at least one observation key')
    observations = {key: _observation(r, key, entry) for key, entry in obs_map.items()}
    action = _action(r, top['action'], observations)

    teleop = None
    if 'teleop' in top:
        tel = r.mapping(top['teleop'], 'teleop', ('topic', 'type'), ('topic', 'type'))
        teleop = TopicSpec(r.topic(tel['topic'], 'teleop.topic'),
                           r.msg_type(tel['type'], 'teleop.type'))
        if teleop.type not in TELEOP_TYPES:
            raise r.fail('teleop.type', f'must be one of {TELEOP_TYPES}, got {teleop.type!r}')
    _check_topic_types(r, observations, teleop)
    limits = _limits(r, top['limits'], action)

    return Contract(name=name, rate_hz=rate, n_obs_steps=to, horizon=tp, n_action_steps=ta,
                    observations=observations, action=action, teleop=teleop, limits=limits,
                    source=source, sampling=sampling)


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
