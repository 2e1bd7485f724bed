"""The Gazebo world is generated from the task: pillar, goal marker and goal region (SDF = XML)."""
from dataclasses import replace
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dil_ros.sim.gazebo_world import world_sdf, write_world
from dil_ros.sim.task import ReachAroundTask


def models(sdf: str):
    root = ET.fromstring(sdf)
    assert root.tag == 'sdf' and root.get('version')
    (world,) = root.findall('world')
    return world, {m.get('name'): m for m in world.findall('model')}


def numbers(element, path):
    return [float(v) for v in element.find(path).text.split()]


def shape(model):
    """(geometry tag, {size: value}) of the model's visual; the collision must say the same."""
    visual = model.find('link/visual/geometry')[0]
    sizes = {child.tag: float(child.text) for child in visual}
    collision = model.find('link/collision/geometry')
    if collision is not None:
        assert collision[0].tag == visual.tag
        assert {c.tag: float(c.text) for c in collision[0]} == sizes
    return visual.tag, sizes


def collides(model) -> bool:
    return model.find('link/collision') is not None


@pytest.mark.parametrize('task', [ReachAroundTask(),
                                  ReachAroundTask(obstacle_xy=(0.4, 0.1), obstacle_radius=0.05,
                                                  obstacle_height=0.2, goal_theta=1.2,
                                                  goal_radius=0.6, tolerance=0.02)])
def test_pillar_and_goal_follow_the_task(task):
    world, found = models(world_sdf(task))
    assert world.get('name') == 'dil_arm'
    assert {'ground_plane', 'pillar', 'goal', 'goal_region'} <= set(found)

    pillar = found['pillar']
    assert found['pillar'].find('static').text == 'true' and collides(pillar)
    assert numbers(pillar, 'pose') == pytest.approx(
        [*task.obstacle_xy, task.obstacle_height / 2, 0, 0, 0], abs=1e-6)
    assert shape(pillar) == ('cylinder', pytest.approx(
        {'radius': task.obstacle_radius, 'length': task.obstacle_height}, abs=1e-6))

    goal = found['goal']
    assert not collides(goal)
    assert numbers(goal, 'pose') == pytest.approx([*task.nominal_goal, 0, 0, 0], abs=1e-6)
    assert shape(goal) == ('sphere', pytest.approx({'radius': task.tolerance}, abs=1e-6))

    region = found['goal_region']
    assert not collides(region)
    assert numbers(region, 'pose')[:3] == pytest.approx(task.nominal_goal, abs=1e-6)
    kind, sizes = shape(region)
    assert kind == 'cylinder' and sizes['radius'] == pytest.approx(task.goal_region_radius,
                                                                   abs=1e-6)


def test_goal_region_holds_every_sampled_goal_and_no_more():
    task = ReachAroundTask()
    _, found = models(world_sdf(task))
    region = found['goal_region']
    centre = np.array(numbers(region, 'pose')[:3])
    radius = shape(region)[1]['radius']
    goals = np.array([task.sample(seed).goal for seed in range(3000)])
    distance = np.linalg.norm(goals - centre, axis=1)
    assert np.all(np.abs(goals[:, 2] - centre[2]) < 1e-9)
    assert distance.max() <= radius + 1e-6
    assert distance.max() > 0.95 * radius  # tight: the disc is the region, not the table


def test_only_the_pillar_collides_like_the_mujoco_model():
    """MuJoCo's floor and goal site touch nothing; the arm may only hit the pillar."""
    world, found = models(world_sdf())
    assert [name for name, m in found.items() if collides(m)] == ['pillar']
    assert found['ground_plane'].find('link/visual/geometry/plane') is not None


def test_world_loads_the_systems_the_launch_needs():
    world, _ = models(world_sdf())
    systems = {p.get('name') for p in world.findall('plugin')}
    assert {'gz::sim::systems::Physics', 'gz::sim::systems::UserCommands',
            'gz::sim::systems::SceneBroadcaster'} <= systems


def test_write_world(tmp_path):
    task = replace(ReachAroundTask(), obstacle_radius=0.09)
    path = write_world(tmp_path / 'logs' / 'world.sdf', task)
    assert path == tmp_path / 'logs' / 'world.sdf'
    _, found = models(path.read_text())
    assert shape(found['pillar'])[1]['radius'] == pytest.approx(0.09)
    assert [p.name for p in path.parent.iterdir()] == ['world.sdf']
