"""Perturbations sim_node injects: each starts at its time, does what it says, and is undone at
the next reset."""
import numpy as np
import pytest

pytest.importorskip('mujoco')

from dil_ros.sim.arm_sim import ArmSim  # noqa: E402
from dil_ros.sim.perturbations import Perturber, PerturbationError  # noqa: E402


def run(sim, perturber, seconds):
    for _ in range(int(round(seconds / (10 * sim.dt)))):
        perturber.before_step(sim)
        sim.step(10)


def test_goal_moves_out_of_the_training_range_at_its_time():
    sim, p = ArmSim(), Perturber('goal', 0.2)
    sim.reset(3)
    p.arm(sim)
    goal = np.array(sim.episode.goal)
    run(sim, p, 0.1)
    assert not p.active and np.allclose(sim.episode.goal, goal)
    run(sim, p, 0.2)
    theta = np.arctan2(sim.episode.goal[1], sim.episode.goal[0])
    assert p.active and abs(theta - np.arctan2(goal[1], goal[0]) - 0.5) < 1e-9
    assert np.allclose(sim.model.site_pos[sim._goal_site], sim.episode.goal)


def test_pillar_moves_and_comes_back_at_the_next_reset():
    sim, p = ArmSim(), Perturber('pillar', 0.0)
    sim.reset(3)
    p.arm(sim)
    home = sim.model.geom_pos[sim._obstacle].copy()
    run(sim, p, 0.05)
    assert np.allclose(sim.model.geom_pos[sim._obstacle] - home, (0.0, 0.2, 0.0))
    p.restore(sim)
    sim.reset(4)
    Perturber().arm(sim)
    assert np.allclose(sim.model.geom_pos[sim._obstacle], home)


def test_joint_bias_changes_the_report_not_the_arm():
    sim, p = ArmSim(), Perturber('joint_bias', 0.0, 0.2)
    sim.reset(3)
    p.arm(sim)
    assert np.allclose(p.reported_positions(sim.positions), sim.positions)
    run(sim, p, 0.05)
    diff = p.reported_positions(sim.positions) - sim.positions
    assert np.allclose(diff, (0.2, 0.0, 0.0))


def test_push_moves_the_arm_for_a_while():
    sim, p = ArmSim(), Perturber('push', 0.1)
    sim.reset(3)
    p.arm(sim)
    q0 = sim.positions
    run(sim, p, 0.35)
    pushed = np.abs(sim.positions - q0).max()
    run(sim, p, 1.5)
    assert pushed > 0.05 and not sim.data.xfrc_applied.any()


def test_unknown_kind_and_negative_time_are_refused():
    with pytest.raises(PerturbationError, match='perturbation: must be one of'):
        Perturber('earthquake')
    with pytest.raises(PerturbationError, match='perturb_time'):
        Perturber('goal', -1.0)


def test_camera_blackout_starts_at_its_time():
    sim, p = ArmSim(), Perturber('camera_blackout', 0.1)
    sim.reset(3)
    p.arm(sim)
    run(sim, p, 0.05)
    assert not p.blackout
    run(sim, p, 0.1)
    assert p.blackout


def test_moved_pillar_still_collides():
    """The arm touches the pillar at its new place (MuJoCo's precomputed bounding volume of the
    static pillar moves with it); back home, that place is free again."""
    import mujoco

    from dil_ros.sim.task import ik
    sim, p = ArmSim(), Perturber('pillar', 0.0, 0.3)
    sim.reset(3)
    p.arm(sim)
    x, y, _ = sim.model.geom_pos[sim._obstacle]
    sim.data.qpos[sim._qadr] = ik(x, y + 0.3, sim.task.tip_height)   # the tip where it goes
    p.before_step(sim)
    mujoco.mj_forward(sim.model, sim.data)
    assert sim._touching_obstacle()
    p.restore(sim)
    mujoco.mj_forward(sim.model, sim.data)
    assert not sim._touching_obstacle()
