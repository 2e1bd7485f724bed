"""sim_node's cameras and the vision variant over DDS: images in sim time, no goal topic."""
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')
pytest.importorskip('mujoco')

from geometry_msgs.msg import Point  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from dil_ros.nodes.image_messages import to_rgb  # noqa: E402
from dil_ros.nodes.sim_node import SimNode  # noqa: E402
from test_sim_node import spin_until  # noqa: E402 - test/nodes is on sys.path

TOPIC = '/camera/top/image_raw'


def marker(rgb):
    """Pixels of the bold green goal marker."""
    c = rgb.astype(int)
    return (c[..., 1] > 150) & (c[..., 0] < 100) & (c[..., 2] < 100)


@pytest.fixture
def rig(ros_context):
    made = []

    def make(**params):
        sim = SimNode(**{'real_time_factor': 1.0, 'auto_reset': False, **params})
        probe = rclpy.create_node('camera_probe')
        probe.images, probe.goals, probe.clock = [], [], []
        probe.create_subscription(Image, TOPIC, probe.images.append, qos_profile_sensor_data)
        probe.create_subscription(Point, '/task/goal', probe.goals.append, QoSProfile(
            depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        probe.create_subscription(Clock, '/clock', lambda m: probe.clock.append(
            m.clock.sec + m.clock.nanosec * 1e-9), 100)
        probe.reset = probe.create_client(Trigger, '/sim_node/reset')
        ex = SingleThreadedExecutor()
        ex.add_node(sim)
        ex.add_node(probe)
        made.append((ex, sim, probe))
        return sim, probe, ex
    yield make
    for ex, sim, probe in made:
        ex.shutdown()
        sim.destroy_node()
        probe.destroy_node()


def test_vision_variant_images_without_a_goal_topic(rig):
    sim, probe, ex = rig(camera_names=['top'], camera_rate_hz=10.0, camera_width=80,
                         camera_height=60, publish_goal=False, seed=1)
    if sim.cameras is not None and sim.cameras.ready.wait(20.0) and sim.cameras.error:
        pytest.skip(sim.cameras.error)
    spin_until(ex, lambda: len(probe.images) >= 5)
    msg = probe.images[-1]
    assert (msg.width, msg.height, msg.encoding, msg.header.frame_id) == (80, 60, 'rgb8', 'top')
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in probe.images]
    # 10 Hz in sim time (best effort: the first frames may go before discovery completes)
    assert np.allclose(np.diff(stamps[-4:]), 0.1, atol=0.011), stamps
    assert set(np.round(stamps, 6)) <= set(np.round(probe.clock, 6)) | {0.0}
    before = to_rgb(msg, TOPIC)

    future = probe.reset.call_async(Trigger.Request())   # seed 2: the goal moves
    spin_until(ex, future.done)
    n = len(probe.images)
    spin_until(ex, lambda: len(probe.images) >= n + 3)
    after = to_rgb(probe.images[-1], TOPIC)
    marker_before, marker_after = marker(before), marker(after)
    assert marker_before.sum() > 5 and marker_after.sum() > 5   # the goal is in the image
    assert (marker_before != marker_after).sum() > 3            # ... and it moved
    assert probe.goals == [] and probe.count_publishers('/task/goal') == 0
    # the physics kept sim time: rendering did not stall the clock (1x real time, 100 Hz)
    assert len(probe.clock) > 0 and np.all(np.diff(probe.clock) > 0)


def test_cameras_are_off_by_default(rig):
    sim, probe, ex = rig(seed=1)
    spin_until(ex, lambda: probe.goals and len(probe.clock) > 20)
    assert sim.cameras is None and probe.count_publishers(TOPIC) == 0 and probe.images == []


def test_the_vision_contract_matches_what_the_variant_publishes(rig):
    from dil_ros.contract import default_contract_path, load_contract
    contract = load_contract(default_contract_path().parent / 'mujoco_arm_vision.yaml')
    (key,) = contract.image_keys
    spec = contract.observations[key]
    assert spec.topic == TOPIC
    assert '/task/goal' not in {s.topic for s in contract.observations.values()}
    sim, probe, ex = rig(camera_names=['top'], publish_goal=False)   # sim.yaml's size
    if sim.cameras.ready.wait(20.0) and sim.cameras.error:
        pytest.skip(sim.cameras.error)
    spin_until(ex, lambda: probe.images)
    frame = to_rgb(probe.images[-1], spec.topic, spec.encodings)
    assert frame.shape == contract.image_shapes[key]


def _sim_process(*params):
    import subprocess
    import sys
    args = [sys.executable, '-m', 'dil_ros.nodes.sim_node', '--ros-args']
    for p in params:
        args += ['-p', p]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_unknown_camera_is_one_line():
    proc = _sim_process('camera_names:=[wrist]')
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1 and 'Traceback' not in out, out
    assert out == ("sim_node: error: camera_names: no camera 'wrist' in the arm model "
                   '(cameras: overview, top)\n')


def test_ctrl_c_while_rendering_ends_cleanly():
    import signal
    proc = _sim_process('camera_names:=[top, overview]', 'camera_rate_hz:=100.0',
                        'camera_width:=320', 'camera_height:=240')
    time.sleep(4.0)   # up, and rendering
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert 'Traceback' not in out and 'Failed to publish' not in out, out
