"""goal_node over DDS: /task/goal drawn as sim_node draws it; ~/reset moves to the next seed."""
import json
import time

import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Point  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from dil_ros.nodes.goal_node import GoalNode  # noqa: E402
from dil_ros.sim.task import ReachAroundTask  # noqa: E402

LATCHED = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture
def rig(ros_context):
    goal_node = GoalNode(seed=11)
    probe = rclpy.create_node('goal_probe')
    goals = []
    probe.create_subscription(Point, '/task/goal', lambda m: goals.append(
        (m.x, m.y, m.z, time.monotonic())), LATCHED)
    reset = probe.create_client(Trigger, '/goal_node/reset')
    ex = SingleThreadedExecutor()
    ex.add_node(goal_node)
    ex.add_node(probe)

    def spin_until(done, timeout=10.0):
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            ex.spin_once(timeout_sec=0.01)
        return done()

    yield goal_node, goals, reset, spin_until
    ex.shutdown()
    goal_node.destroy_node()
    probe.destroy_node()


def test_goals_are_the_sims_and_reset_draws_the_next(rig):
    goal_node, goals, reset, spin_until = rig
    task = ReachAroundTask()
    assert spin_until(lambda: goals)
    assert goals[0][:3] == pytest.approx(task.sample(11).goal, abs=1e-12)
    assert goal_node.get_parameter('seed').value == 12

    future = reset.call_async(Trigger.Request())
    assert spin_until(future.done)
    info = json.loads(future.result().message)
    assert future.result().success and (info['episode'], info['seed']) == (1, 12)
    assert info['goal'] == pytest.approx(task.sample(12).goal)
    assert spin_until(lambda: goals[-1][:3] == pytest.approx(task.sample(12).goal, abs=1e-12))


def test_goal_is_sent_again_every_period(rig):
    """policy_node holds on stale observations: the goal must keep arriving, not once."""
    _, goals, _, spin_until = rig
    assert spin_until(lambda: len(goals) >= 6, timeout=5.0)
    gaps = [b[3] - a[3] for a, b in zip(goals[1:], goals[2:])]
    assert max(gaps) < 0.5


def test_same_seed_same_goal_as_sim_node(ros_context):
    pytest.importorskip('mujoco')
    from dil_ros.nodes.sim_node import SimNode
    sim, goal_node = SimNode(real_time_factor=0.0, seed=4), GoalNode(seed=4)
    try:
        assert tuple(goal_node.episode.goal) == tuple(sim.sim.episode.goal)
        sim.reset_episode()
        goal_node.reset_episode()
        assert tuple(goal_node.episode.goal) == tuple(sim.sim.episode.goal)
    finally:
        sim.destroy_node()
        goal_node.destroy_node()
