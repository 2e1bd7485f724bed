"""policy_node with a camera over DDS: frames reach the policy as uint8; bad frames hold."""
import array
import time

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.ros

ERROR = 40
CAM, TOPIC = 'observation.images.front', '/camera/front/image_raw'
MEASURED = np.array([0.5, -0.5, 1.0])
GAIN = 0.1


@pytest.fixture(scope='module')
def vision(tmp_path_factory, contract):
    """The arm's contract with the goal topic swapped for a camera."""
    from dil_ros.contract import load_contract
    mapping = contract.to_mapping()
    mapping['name'] = 'mujoco_arm_camera_test'
    mapping['observations'] = {
        'observation.state': mapping['observations']['observation.state'],
        CAM: {'topic': TOPIC, 'type': 'sensor_msgs/msg/Image', 'height': 24, 'width': 32,
              'encodings': ['rgb8', 'bgr8']},
    }
    d = tmp_path_factory.mktemp('vision')
    path = d / 'vision.yaml'
    path.write_text(yaml.safe_dump(mapping))
    return load_contract(path)


@pytest.fixture(scope='module')
def policy(vision, tmp_path_factory):
    from policy_artifacts import mean_pixel_artifact
    return str(mean_pixel_artifact(tmp_path_factory.mktemp('p') / 'mean.ts', vision, GAIN))


@pytest.fixture
def camera(ros_context, vision, policy):
    """A PolicyHarness plus a 30 Hz camera publishing ``cam.value`` frames (``cam.size``)."""
    from policy_harness import PolicyHarness
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    h = PolicyHarness(policy_path=policy, contract=str(vision.source), start_enabled=True,
                      observation_timeout_s=0.5)
    h.value, h.size, h.encoding, h.cam_on = 255, (48, 64), 'rgb8', True
    pub = h.robot.create_publisher(Image, TOPIC, qos_profile_sensor_data)

    def publish():
        if not h.cam_on:
            return
        height, width = h.size
        msg = Image(height=height, width=width, encoding=h.encoding, step=width * 3)
        msg.data = array.array('B', bytes([h.value]) * (height * width * 3))
        msg.header.stamp = h.robot.get_clock().now().to_msg()
        pub.publish(msg)
    h.robot.create_timer(1 / 30, publish)
    yield h
    h.close()


def last(h, n=10, timeout=10.0):
    assert h.wait_for(lambda: len(h.commands) > n + 30, timeout), h.logs
    time.sleep(0.3)
    return np.array(h.commands_since(time.monotonic() - 0.2))


def test_frames_drive_the_policy_and_bad_frames_hold(camera):
    h = camera
    h.start()
    # 255 everywhere: mean 1.0 -> state + 0.1
    assert h.wait_for(lambda: h.commands and np.allclose(h.commands[-1][1], MEASURED + GAIN,
                                                         atol=1e-5), 10.0), h.logs
    h.value = 51   # 0.2 -> state + 0.02: the policy sees new frames
    assert h.wait_for(lambda: np.allclose(h.commands[-1][1], MEASURED + 0.2 * GAIN, atol=1e-5),
                      10.0)

    h.encoding = 'mono8'   # not in the contract's encodings: hold, naming topic and encoding
    assert h.wait_for(lambda: h.log_has(f"{CAM}: {TOPIC}: encoding 'mono8' not accepted",
                                        ERROR), 10.0), h.logs
    held = last(h)
    assert len(held) > 2 and np.ptp(held, axis=0).max() == 0.0, held
    h.encoding = 'bgr8'    # a good frame again: commanding resumes
    h.value = 255
    assert h.wait_for(lambda: np.allclose(h.commands[-1][1], MEASURED + GAIN, atol=1e-5),
                      10.0), h.logs

    h.size = (96, 128)     # the camera changes size mid-run: hold until ~/reset
    assert h.wait_for(lambda: h.log_has(f'{CAM} ({TOPIC}): frame size changed mid-run from '
                                        '64x48 to 128x96', ERROR), 10.0), h.logs
    h.value = 102          # 0.4 -> state + 0.04, once the node takes the new size
    held = last(h)
    assert np.ptp(held, axis=0).max() == 0.0, held
    np.testing.assert_allclose(held[-1], MEASURED + GAIN, atol=1e-5)
    assert h.reset().success   # (after a reset the node holds the measured state until it runs)
    assert h.wait_for(lambda: np.allclose(h.commands[-1][1], MEASURED + 0.4 * GAIN, atol=1e-5),
                      10.0), h.logs

    h.cam_on = False       # a camera that stops: stale, named with its topic
    assert h.wait_for(lambda: h.log_has(f'{CAM} ({TOPIC}): none newer than', ERROR),
                      10.0), '\n'.join(m for _, m in h.logs[-6:])
