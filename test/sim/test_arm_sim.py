"""ArmSim without ROS: determinism, forward commands, JTC-like trajectories, contact, timeout."""
import numpy as np
import pytest

pytest.importorskip('mujoco')

from dil_ros.sim.arm_sim import ArmSim, JointTrajectory, TrajectoryError  # noqa: E402
from dil_ros.sim.task import COLLISION, ik, ReachAroundTask, RUNNING, TIMEOUT  # noqa: E402

NAMES = ['shoulder_pan', 'shoulder_lift', 'elbow']


@pytest.fixture(scope='module')
def sim():
    return ArmSim()


def test_reset_is_deterministic(sim):
    runs = []
    for _ in range(2):
        ep = sim.reset(11)
        sim.command_positions([0.2, 0.3, -1.5])
        sim.run_for(0.5)
        runs.append((ep, sim.positions, sim.episode_time))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])
    assert sim.reset(12).goal != runs[0][0].goal
    assert sim.episode_time == 0.0 and sim.status == RUNNING


def test_forward_command_tracks_and_clock_runs_on(sim):
    sim.reset(0)
    clock0 = sim.clock
    target = np.array([-0.5, 0.5, -1.2])
    sim.command_positions(target)
    sim.run_for(1.0)
    assert np.allclose(sim.positions, target, atol=0.01)
    assert sim.clock == pytest.approx(clock0 + 1.0)
    sim.reset(1)
    assert sim.clock == pytest.approx(clock0 + 1.0)  # monotonic across resets (it is /clock)
    with pytest.raises(TrajectoryError):
        sim.command_positions([0.0, 1.0])


def test_forward_command_is_clamped_to_limits(sim):
    sim.reset(0)
    sim.command_positions([5.0, 0.0, -5.0])
    assert np.allclose(sim.target, [2.6, 0.0, -2.6])


def test_linear_trajectory_reaches_points_on_time(sim):
    sim.reset(0)
    q0 = sim.positions
    goal = q0 + np.array([0.6, 0.2, 0.3])
    mid = (q0 + goal) / 2
    sim.command_trajectory(NAMES, [1.0, 2.0], [mid.tolist(), goal.tolist()])
    sim.run_for(1.0)
    assert np.allclose(sim.target, mid, atol=1e-6)
    assert np.allclose(sim.positions, mid, atol=0.05)  # position servo lag at 0.3 rad/s
    sim.run_for(1.0)
    assert np.allclose(sim.target, goal, atol=1e-6)
    sim.run_for(0.5)
    assert np.allclose(sim.positions, goal, atol=0.01)


def test_joint_order_in_message_is_respected(sim):
    sim.reset(0)
    sim.command_trajectory(['elbow', 'shoulder_pan', 'shoulder_lift'], [0.5],
                           [[-1.0, 0.3, 0.4]])
    sim.run_for(1.0)
    assert np.allclose(sim.positions, [0.3, 0.4, -1.0], atol=0.01)


def test_new_trajectory_replaces_old_from_now(sim):
    sim.reset(0)
    q0 = sim.positions
    sim.command_trajectory(NAMES, [2.0], [(q0 + 1.0).tolist()])
    sim.run_for(1.0)
    halfway = sim.target.copy()
    assert np.allclose(halfway, q0 + 0.5, atol=1e-6)
    sim.command_trajectory(NAMES, [1.0], [q0.tolist()])  # back, starting from the reference now
    sim.step(1)
    assert np.allclose(sim.target, halfway, atol=0.01)  # no jump
    sim.run_for(1.0)
    assert np.allclose(sim.target, q0, atol=1e-6)


def test_cubic_trajectory_uses_velocities():
    traj = JointTrajectory(0.0, np.zeros(1), np.zeros(1), 0.0, [1.0, 2.0],
                           np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]]))
    p, v = traj.sample(1.0)
    assert p[0] == pytest.approx(1.0) and v[0] == pytest.approx(1.0)
    p, v = traj.sample(2.0)
    assert p[0] == pytest.approx(2.0) and v[0] == pytest.approx(0.0)
    p, _ = traj.sample(0.5)
    assert 0.0 < p[0] < 1.0


def test_first_point_at_zero_steps(sim):
    sim.reset(0)
    sim.command_trajectory(NAMES, [0.0, 1.0], [[0.5, 0.0, -1.0], [0.6, 0.0, -1.0]])
    sim.step(1)
    assert sim.target[0] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize('names,times,positions,match', [
    (NAMES, [], [], 'empty'),
    ([], [1.0], [[0, 0, 0]], 'empty'),
    (['a', 'b', 'c'], [1.0], [[0, 0, 0]], 'do not match'),
    (NAMES[:2], [1.0], [[0, 0]], 'do not match'),
    (NAMES, [1.0, 1.0], [[0, 0, 0], [0, 0, 0]], 'strictly increasing'),
    (NAMES, [2.0, 1.0], [[0, 0, 0], [0, 0, 0]], 'strictly increasing'),
    (NAMES, [1.0], [[0, 0]], 'positions'),
])
def test_invalid_trajectories_are_rejected(sim, names, times, positions, match):
    sim.reset(0)
    with pytest.raises(TrajectoryError, match=match):
        sim.command_trajectory(names, times, positions)
    assert sim.trajectory is None


def test_driving_through_the_pillar_is_a_collision(sim):
    ep = sim.reset(0)
    mid = ik(0.5, 0.0, 0.05)  # the pillar's centre at tip height
    sim.command_trajectory(NAMES, [1.5, 3.0], [list(mid), list(ik(*ep.goal))])
    status = sim.run_for(3.0)
    assert status == COLLISION
    assert sim.done


def test_timeout():
    sim = ArmSim(ReachAroundTask(time_limit=0.3))
    sim.reset(0)
    assert sim.run_for(0.31) == TIMEOUT
