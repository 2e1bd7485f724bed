"""Teleop mapping driven by synthetic input events (no device, no DDS)."""
import pytest

from dil_ros.teleop import Command, InputEvent, TeleopConfig, TeleopMapper


def key(name, down=True):
    return InputEvent('key', name, float(down))


def cfg(contract, mode, **kw):
    return TeleopConfig.from_contract(contract, mode, **kw)


MEASURED = {'shoulder_pan': 0.5, 'shoulder_lift': -1.5, 'elbow': 0.0}


def test_nothing_moves_without_deadman(contract):
    for mode in ('joint_velocity', 'joint_position', 'twist'):
        m = TeleopMapper(cfg(contract, mode))
        m.handle([InputEvent('axis', 0, 1.0), key('q')])
        cmd = m.update(0.02, MEASURED)
        assert not cmd.active
        if mode != 'twist':  # both send positions to the contract's position controller
            assert cmd.values == (0.5, -1.5, 0.0)  # hold where the robot is
        else:
            assert all(v == 0.0 for v in cmd.values)


def test_joint_velocity_from_stick_and_keys(contract):
    m = TeleopMapper(cfg(contract, 'joint_velocity', scale=0.5, deadzone=0.1,
                         axis_sign=(1.0, -1.0, 1.0), command_interface='velocity'))
    m.handle([InputEvent('button', 4, 1.0), InputEvent('axis', 0, 1.0),
              InputEvent('axis', 1, 0.05), key('d')])
    cmd = m.update(0.02)
    assert cmd.active and cmd.kind == 'velocity'
    assert cmd.values == pytest.approx((1.0, 0.0, -1.0))  # 2 rad/s * 0.5; dead zone; key minus
    m.handle([InputEvent('axis', 1, 0.55)])
    assert m.update(0.02).values[1] == pytest.approx(-0.5 * 1.0)  # (0.55-0.1)/0.9, sign -1
    m.handle([InputEvent('button', 4, 0.0)])
    cmd = m.update(0.02)
    assert not cmd.active and cmd.values == (0.0, 0.0, 0.0)


def test_joint_position_integrates_clamps_and_holds(contract):
    m = TeleopMapper(cfg(contract, 'joint_position', scale=1.0, max_lead=0.5))
    assert m.update(0.1, None) is None  # no joint state yet: nothing to integrate from
    m.handle([key('space'), key('q'), key('s')])
    cmd = m.update(0.1, MEASURED)
    assert cmd.active and cmd.kind == 'position'
    assert cmd.values == pytest.approx((0.7, -1.6, 0.0))  # +0.2; lift clamped at lower -1.6
    arm = dict(MEASURED)
    for _ in range(20):  # the arm follows its target
        arm['shoulder_pan'] = cmd.values[0]
        cmd = m.update(0.1, arm)
    assert cmd.values == pytest.approx((2.6, -1.6, 0.0))  # upper limit of shoulder_pan
    m.handle([key('space', False)])
    held = m.update(0.1, {'shoulder_pan': 2.4, 'shoulder_lift': -1.6, 'elbow': 0.0})
    assert not held.active and held.values == cmd.values  # release: hold the last target
    m.handle([key('space')])  # press again: re-anchor on the measured state (no jump)
    assert m.update(0.1, {'shoulder_pan': 2.4, 'shoulder_lift': -1.6, 'elbow': 0.0}).values == \
        pytest.approx((2.6, -1.6, 0.0))
    m.handle([key('q', False), key('w')])
    m.handle([InputEvent('reset')])  # device lost: everything released
    assert not m.update(0.1, MEASURED).active


def test_joint_velocity_on_a_position_controller_sends_positions(contract):
    """A position controller given velocities drives the arm to 0 rad: integrate instead."""
    m = TeleopMapper(cfg(contract, 'joint_velocity', scale=0.5))
    m.handle([key('space')])
    cmd = m.update(0.02, MEASURED)
    assert cmd.kind == 'position' and cmd.values == pytest.approx((0.5, -1.5, 0.0))
    m.handle([key('q')])
    cmd = m.update(0.02, MEASURED)
    assert cmd.values == pytest.approx((0.52, -1.5, 0.0))  # 1 rad/s for 20 ms
    raw = TeleopMapper(cfg(contract, 'joint_velocity', scale=0.5, command_interface='velocity'))
    raw.handle([key('space'), key('q')])
    assert raw.update(0.02, MEASURED) == Command('velocity', (1.0, 0.0, 0.0), True)


def test_target_restarts_from_the_arm_after_a_reset(contract):
    """Dead-man held while the robot is reset: the target follows the arm, never drags it."""
    m = TeleopMapper(cfg(contract, 'joint_position', scale=1.0))
    m.handle([key('space'), key('q')])
    arm = dict(MEASURED)
    for _ in range(10):
        cmd = m.update(0.02, arm)
        arm['shoulder_pan'] = cmd.values[0]
    reset = {'shoulder_pan': -0.9, 'shoulder_lift': 0.3, 'elbow': -1.8}  # teleported
    cmd = m.update(0.02, reset)
    assert cmd.values == pytest.approx(tuple(reset.values()))
    m.reanchor(None)
    assert m.update(0.02, None) is None


def test_blocked_joint_builds_no_lead(contract):
    m = TeleopMapper(cfg(contract, 'joint_position', scale=1.0, max_lead=0.15))
    m.handle([key('space'), key('q')])
    for _ in range(100):  # 2 s pushing against a pillar that holds the arm at 0.5
        cmd = m.update(0.02, MEASURED)
    assert cmd.values[0] == pytest.approx(0.5 + 0.15)


def test_twist(contract):
    m = TeleopMapper(cfg(contract, 'twist', max_linear=0.2, max_angular=0.5, deadzone=0.0,
                         axes=(1, 0, 2, 3)))
    m.handle([InputEvent('button', 4, 1.0), InputEvent('axis', 1, 0.5), InputEvent('axis', 3, -1)])
    cmd = m.update(0.02)
    assert cmd.kind == 'twist' and cmd.values == pytest.approx((0.1, 0.0, 0.0, -0.5))


def test_config_validation(contract):
    with pytest.raises(ValueError, match='mode: must be one of'):
        cfg(contract, 'fly')
    with pytest.raises(ValueError, match='3 joints but only 1 axes and 1 key pairs'):
        cfg(contract, 'joint_velocity', axes=(0,), keys=(('q', 'a'),))
    with pytest.raises(ValueError, match='unknown input event kind'):
        TeleopMapper(cfg(contract, 'twist')).handle([InputEvent('wheel', 0, 1.0)])
