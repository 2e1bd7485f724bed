"""Small synthetic episodes shared by the data tests."""
import numpy as np
import pytest

from dil_ros.data.episode import Episode


def make_episode(length: int, seed: int = 0, task: str = 'reach', fps: float = 10.0,
                 env_dim: int = 3) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        observations={
            'observation.state': rng.normal(size=(length, 3)).astype(np.float32),
            'observation.environment_state': rng.normal(size=(length, env_dim)).astype(np.float32),
        },
        action=rng.normal(size=(length, 3)).astype(np.float32),
        timestamps=np.arange(length) / fps,
        task=task,
        metadata={'success': bool(seed % 2 == 0), 'source': f'bag_{seed}'},
    )


@pytest.fixture
def episodes():
    """Three short episodes with two observation keys and two tasks."""
    return [make_episode(12, seed=0), make_episode(7, seed=1, task='push'),
            make_episode(20, seed=2)]


@pytest.fixture
def episode_factory():
    """``make_episode`` for tests that need their own shapes."""
    return make_episode


class BagBuilder:
    """Writes rosbag2 bags with rosbags' own Writer and typestore (CDR via serialize_cdr)."""

    def __init__(self):
        from rosbags.typesys import get_typestore, Stores
        self.ts = get_typestore(Stores.ROS2_KILTED)
        self.T = self.ts.types

    def header(self, t_ns):
        stamp = self.T['builtin_interfaces/msg/Time'](sec=int(t_ns // 10**9),
                                                      nanosec=int(t_ns % 10**9))
        return self.T['std_msgs/msg/Header'](stamp=stamp, frame_id='')

    def joint_state(self, t_ns, names, positions):
        empty = np.zeros(0, np.float64)
        return self.T['sensor_msgs/msg/JointState'](
            header=self.header(t_ns), name=list(names),
            position=np.array(positions, np.float64), velocity=empty, effort=empty)

    def point(self, x, y, z):
        return self.T['geometry_msgs/msg/Point'](x=float(x), y=float(y), z=float(z))

    def float64_array(self, data):
        layout = self.T['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        return self.T['std_msgs/msg/Float64MultiArray'](layout=layout,
                                                        data=np.array(data, np.float64))

    def trajectory(self, t_ns, names, positions):
        dur = self.T['builtin_interfaces/msg/Duration'](sec=0, nanosec=100_000_000)
        empty = np.zeros(0, np.float64)
        point = self.T['trajectory_msgs/msg/JointTrajectoryPoint'](
            positions=np.array(positions, np.float64), velocities=empty, accelerations=empty,
            effort=empty, time_from_start=dur)
        return self.T['trajectory_msgs/msg/JointTrajectory'](
            header=self.header(t_ns), joint_names=list(names), points=[point])

    def write(self, path, messages, storage='mcap', types=None, typestore=None, custom=None):
        """``messages``: [(topic, msgtype, t_ns, msg)] (msg None: connection only)."""
        from rosbags.rosbag2 import StoragePlugin, Writer
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        ts = typestore or self.ts
        conns = {}
        with Writer(path, version=9, storage_plugin=plugin) as writer:
            for key, value in (custom or {}).items():
                writer.set_custom_data(key, value)
            for topic, msgtype in (types or {}).items():
                conns[topic] = writer.add_connection(topic, msgtype, typestore=ts)
            for topic, msgtype, t_ns, msg in sorted(messages, key=lambda m: m[2]):
                if topic not in conns:
                    conns[topic] = writer.add_connection(topic, msgtype, typestore=ts)
                if msg is not None:
                    writer.write(conns[topic], int(t_ns), ts.serialize_cdr(msg, msgtype))
        return path


@pytest.fixture(scope='session')
def bags():
    return BagBuilder()


JS = 'sensor_msgs/msg/JointState'
POINT = 'geometry_msgs/msg/Point'
F64 = 'std_msgs/msg/Float64MultiArray'
T0_NS = 1_700_000_000 * 10**9


def ramp(t_s):
    """The true joint positions / actions at time t (seconds from T0)."""
    t = np.asarray(t_s, np.float64)
    return np.stack([0.1 + 0.5 * t, -0.2 * t, 1.0 - 0.3 * t], axis=-1)


def arm_messages(bags, seconds=3.0, js_hz=50, goal_hz=5, cmd_hz=20, js_phase_s=0.0,
                 teleop='float64', drop=()):
    """Messages of the mujoco_arm contract: joint states (extra joint, other order), goal, cmd."""
    msgs = []
    for k in range(int(seconds * js_hz) + 1):
        t = k / js_hz + js_phase_s
        q = ramp(t)
        msgs.append(('/joint_states', JS, T0_NS + round(t * 1e9),
                     bags.joint_state(T0_NS + round(t * 1e9),
                                      ['elbow', 'gripper', 'shoulder_pan', 'shoulder_lift'],
                                      [q[2], 7.0, q[0], q[1]])))
    for k in range(int(seconds * goal_hz) + 1):
        t = k / goal_hz
        msgs.append(('/task/goal', POINT, T0_NS + round(t * 1e9), bags.point(0.3, -0.1, t)))
    names = ['shoulder_pan', 'shoulder_lift', 'elbow']
    for k in range(int(seconds * cmd_hz) + 1):
        t = k / cmd_hz
        a = ramp(t) * 2
        t_ns = T0_NS + round(t * 1e9)
        if teleop == 'float64':
            msgs.append(('/arm_controller/commands', F64, t_ns, bags.float64_array(a)))
        elif teleop == 'trajectory':
            msgs.append(('/arm_controller/commands', 'trajectory_msgs/msg/JointTrajectory',
                         t_ns, bags.trajectory(t_ns, names[::-1], a[::-1])))
        else:
            msgs.append(('/arm_controller/commands', JS, t_ns,
                         bags.joint_state(t_ns, names[::-1], a[::-1])))
    return [m for m in msgs if m[0] not in drop]


@pytest.fixture(scope='session')
def arm(bags):
    """Helpers for mujoco_arm recordings: ``messages(**kw)``, ``ramp(t)``, ``t0_ns``."""
    from types import SimpleNamespace
    return SimpleNamespace(messages=lambda **kw: arm_messages(bags, **kw), ramp=ramp,
                           t0_ns=T0_NS)
