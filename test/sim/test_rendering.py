"""cheap_scene turns off the two costly effects and nothing else."""
import pytest

mujoco = pytest.importorskip('mujoco')

from dil_ros.sim.arm_sim import ArmSim  # noqa: E402
from dil_ros.sim.rendering import cheap_scene  # noqa: E402


def test_shadows_and_reflections_off():
    sim = ArmSim()
    try:
        renderer = mujoco.Renderer(sim.model, height=48, width=64)
    except Exception as exc:  # noqa: BLE001 - no GL here
        pytest.skip(f'rendering unavailable: {exc}')
    try:
        renderer.update_scene(sim.data, camera='top')
        before = list(renderer.scene.flags)
        cheap_scene(renderer)
        after = list(renderer.scene.flags)
    finally:
        renderer.close()
    off = {int(mujoco.mjtRndFlag.mjRND_SHADOW), int(mujoco.mjtRndFlag.mjRND_REFLECTION)}
    assert before[min(off)] and before[max(off)]
    assert [i for i, (a, b) in enumerate(zip(before, after)) if a != b] == sorted(off)
    assert not any(after[i] for i in off)
