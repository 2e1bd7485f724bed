"""Task geometry: deterministic sampling; kinematics agree with the MuJoCo model and contract."""
import numpy as np
import pytest

from dil_ros.sim.task import (COLLISION, fk, ik, JOINT_NAMES, ReachAroundTask, RUNNING, SUCCESS,
                              TIMEOUT)

mujoco = pytest.importorskip('mujoco')


def test_same_seed_same_episode_and_seeds_differ():
    task = ReachAroundTask()
    assert task.sample(7) == task.sample(7)
    goals = {task.sample(s).goal for s in range(10)}
    assert len(goals) == 10


def test_ik_inverts_fk():
    for point in [(0.5, 0.1, 0.05), (0.2, -0.3, 0.1), (0.0, 0.7, 0.3)]:
        assert np.allclose(fk(ik(*point)), point, atol=1e-9)
    with pytest.raises(ValueError, match='out of reach'):
        ik(2.0, 0.0, 0.0)


def test_evaluate_order():
    task = ReachAroundTask(time_limit=1.0)
    goal = np.zeros(3)
    assert task.evaluate(0.1, np.array([0.01, 0, 0]), goal, contact=True) == COLLISION
    assert task.evaluate(0.1, np.array([0.01, 0, 0]), goal, contact=False) == SUCCESS
    assert task.evaluate(0.1, np.array([0.5, 0, 0]), goal, contact=False) == RUNNING
    assert task.evaluate(1.0, np.array([0.5, 0, 0]), goal, contact=False) == TIMEOUT


def test_model_matches_contract_and_kinematics(contract):
    from dil_ros.sim.arm_sim import default_model_path
    model = mujoco.MjModel.from_xml_path(str(default_model_path()))
    data = mujoco.MjData(model)
    assert list(contract.action.joints) == list(JOINT_NAMES)
    assert list(contract.observations['observation.state'].joints) == list(JOINT_NAMES)
    for i, name in enumerate(JOINT_NAMES):
        lim = contract.limits[name]
        assert tuple(model.joint(name).range) == pytest.approx((lim.lower, lim.upper))
        assert tuple(model.actuator(name).ctrlrange) == pytest.approx((lim.lower, lim.upper))
        assert model.actuator(i).trnid[0] == model.joint(name).id
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.uniform(-1.2, 1.2, 3)
        data.qpos[:] = q
        mujoco.mj_forward(model, data)
        assert np.allclose(data.site('ee').xpos, fk(q), atol=1e-9)


def test_obstacle_lies_between_start_and_goal():
    task = ReachAroundTask()
    ep = task.sample(0)
    start, goal = fk(ep.q0), np.asarray(ep.goal)
    mid = (start + goal) / 2  # the direct route passes the pillar
    theta_mid = np.arctan2(mid[1], mid[0])
    assert abs(theta_mid) < 0.15
    assert np.hypot(*task.obstacle_xy) == pytest.approx(task.goal_radius)
    assert task.tip_height < task.obstacle_height
