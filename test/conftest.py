"""Shared fixtures. ROS tests get localhost-only discovery and a domain id of their own; a watchdog
ends a test that hangs."""
import faulthandler
import os
import signal
import sys
import threading

import pytest

# Set before rclpy is imported anywhere: DDS traffic stays on this machine, tests don't collide.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ['ROS_DOMAIN_ID'] = str(os.environ.get('DIL_ROS_TEST_DOMAIN_ID')
                                  or (os.getpid() % 100 + 100))
os.environ.setdefault('MUJOCO_GL', 'egl')


# A test that hangs must not eat CI's 90 minutes: past its limit the watchdog prints every thread's
# stack, kills the test's child processes and ends pytest with exit code 3. Tests marked slow get
# SLOW_LIMIT_S; DIL_ROS_TEST_LIMIT_S overrides the default.
TEST_LIMIT_S = float(os.environ.get('DIL_ROS_TEST_LIMIT_S', '300'))
SLOW_LIMIT_S = 1800.0


def _children(pid):
    """Every descendant of ``pid`` (from /proc; empty where there is none)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            with open(f'/proc/{parent}/task/{parent}/children') as f:
                kids = [int(p) for p in f.read().split()]
        except OSError:
            kids = []
        found += kids
        todo += kids
    return found


def _expire(config, nodeid, limit):
    capture = config.pluginmanager.getplugin('capturemanager')
    if capture is not None:   # the report must reach the terminal, not a capture buffer
        capture.suspend_global_capture(in_=False)
    sys.stderr.write(f'\n\nWATCHDOG: {nodeid} ran past {limit:.0f} s; stacks of every thread:\n')
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    for pid in _children(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    sys.stderr.flush()
    os._exit(3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    limit = SLOW_LIMIT_S if item.get_closest_marker('slow') else TEST_LIMIT_S
    timer = threading.Timer(limit, _expire, (item.config, item.nodeid, limit))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


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
