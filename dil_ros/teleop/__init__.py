"""Teleoperation logic without DDS: input state, dead-man, mapping, the guarded target, keys."""
from dil_ros.teleop.inputs import from_pygame, InputEvent, InputState
from dil_ros.teleop.mapping import Command, MODES, TeleopConfig, TeleopMapper
from dil_ros.teleop.safety import PositionGuard

__all__ = ['Command', 'from_pygame', 'InputEvent', 'InputState', 'MODES', 'PositionGuard',
           'TeleopConfig', 'TeleopMapper']
