"""Teleoperation logic without DDS or devices: input state, dead-man, mapping to commands."""
from dil_ros.teleop.mapping import (
    Command, InputEvent, InputState, MODES, TeleopConfig, TeleopMapper)

__all__ = ['Command', 'InputEvent', 'InputState', 'MODES', 'TeleopConfig', 'TeleopMapper']
