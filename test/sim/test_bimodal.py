"""The synthetic bimodal task: the expert uses both sides, never the disc; rollouts score right."""
import numpy as np

from dil_ros.sim import bimodal


def test_demonstrations_are_bimodal_and_safe():
    demos = bimodal.make_demonstrations(60, seed=0)
    sides = [d.metadata['side'] for d in demos]
    assert 20 <= sides.count('left') <= 40
    for d in demos:
        xy = d.observations[bimodal.STATE]
        assert not bimodal.in_obstacle(xy).any()
        assert not bimodal.segment_hits_obstacle(xy[:-1], xy[1:]).any()
        assert np.linalg.norm(xy[-1] - d.observations[bimodal.ENV][-1]) < bimodal.GOAL_TOLERANCE
        # action = the next position (targets the robot reaches in one step)
        assert np.allclose(d.action[:-1], xy[1:], atol=1e-6)
        widest = xy[np.argmax(np.abs(xy[:, 0])), 0]
        assert (widest < 0) == (d.metadata['side'] == 'left')
    assert bimodal.make_demonstrations(3, seed=0)[2].action.tolist() == demos[2].action.tolist()


def straight_policy(obs):
    """Heads straight for the goal: the mean of the two modes, through the disc."""
    pos, goal = obs[bimodal.STATE][:, -1], obs[bimodal.ENV][:, -1]
    steps = np.arange(1, 17)[None, :, None] * bimodal.EXPERT_STEP
    direction = (goal - pos) / np.linalg.norm(goal - pos, axis=-1, keepdims=True)
    return pos[:, None] + steps * direction[:, None]


def expert_like_policy(side):
    def fn(obs):
        pos, goal = obs[bimodal.STATE][:, -1], obs[bimodal.ENV][:, -1]
        out = []
        for p, g in zip(pos, goal):
            x = side * bimodal.SIDE_X
            way = [np.array([x, 0.25]), np.array([x, 0.75]), g]
            # drop waypoints already passed (below the robot)
            way = [w for w in way if w[1] > p[1] + 1e-3] or [g]
            pts, cur = [], p.copy()
            for _ in range(16):
                target = way[0]
                d = target - cur
                n = np.linalg.norm(d)
                if n < bimodal.EXPERT_STEP and len(way) > 1:
                    way.pop(0)
                cur = cur + d * min(1.0, bimodal.EXPERT_STEP / max(n, 1e-9))
                pts.append(cur)
            out.append(pts)
        return np.asarray(out)
    return fn


def test_rollout_scores_collisions_sides_and_success():
    straight = bimodal.rollout(straight_policy, seed=0, batch=8)
    assert straight.collided.all() and not straight.success.any()
    assert (straight.side == 0).all()
    for side in (-1, 1):
        res = bimodal.rollout(expert_like_policy(side), seed=0, batch=8)
        assert res.success.all(), res.summary()
        assert (res.side == side).all()
    res = bimodal.rollout(straight_policy, seed=0, batch=4, start=np.zeros(2))
    assert np.allclose(res.positions[:, 0], 0.0)


def test_plot_writes_png(tmp_path):
    res = bimodal.rollout(straight_policy, seed=0, batch=3)
    path = tmp_path / 'traj.png'
    bimodal.plot_trajectories({'straight': res}, path, demos=bimodal.make_demonstrations(4))
    assert path.stat().st_size > 1000
