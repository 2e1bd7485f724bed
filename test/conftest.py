"""Shared fixtures. ROS tests get localhost-only discovery and a domain id of their own."""
import os

import pytest

# Set before rclpy is imported anywhere: DDS traffic stays on this machine, tests don't collide.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ['ROS_DOMAIN_ID'] = str(os.environ.get('DIL_ROS_TEST_DOMAIN_ID')
                                  or (os.getpid() % 100 + 100))
os.environ.setdefault('MUJOCO_GL', 'egl')


@pytest.fixture(scope='session')
def ros_context():
    """Session-wide rclpy.init(); skips where rclpy is not installed."""
    rclpy = pytest.importorskip('rclpy')
    rclpy.init()
    yield rclpy
    rclpy.try_shutdown()


@pytest.fixture(scope='session')
def contract_path():
    from dil_ros.contract import default_contract_path
    return default_contract_path()


@pytest.fixture(scope='session')
def contract(contract_path):
    from dil_ros.contract import load_contract
    return load_contract(contract_path)


@pytest.fixture(scope='session')
def one_torch_thread():
    """Tiny batch-1 networks run fastest on one thread; more oversubscribe CI's shared cores."""
    torch = pytest.importorskip('torch')
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
