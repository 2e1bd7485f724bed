"""ROS message building for the policy node (message classes only; no rclpy runtime)."""
import importlib
from typing import Dict, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
import numpy as np
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from dil_ros.contract import ContractError


def msg_class(type_name: str):
    """'pkg/msg/Type' -> the Python message class."""
    pkg, _, name = type_name.split('/')
    try:
        return getattr(importlib.import_module(f'{pkg}.msg'), name)
    except (ImportError, AttributeError):
        raise ContractError(f'message type {type_name} is not installed') from None


def stamp_ns(msg, fallback_ns: int) -> int:
    """header.stamp in int nanoseconds (exact, as bags store it); ``fallback_ns`` (receive time)
    for headerless messages or zero stamps."""
    header = getattr(msg, 'header', None)
    if header is None or (header.stamp.sec == 0 and header.stamp.nanosec == 0):
        return int(fallback_ns)
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def trajectory(joints: Sequence[str], times: np.ndarray, points: np.ndarray) -> JointTrajectory:
    """Zero header stamp (start now); points at the given time_from_start [s]."""
    msg = JointTrajectory(joint_names=list(joints))
    for t, pos in zip(times, points):
        point = JointTrajectoryPoint(positions=[float(x) for x in pos])
        point.time_from_start.sec, point.time_from_start.nanosec = divmod(int(round(t * 1e9)),
                                                                          1_000_000_000)
        msg.points.append(point)
    return msg


def forward_command(cmd: np.ndarray) -> Float64MultiArray:
    return Float64MultiArray(data=[float(x) for x in cmd])


def twist(joints: Sequence[str], cmd: np.ndarray) -> Twist:
    """Action joints named 'linear.x', 'angular.z', ... map by name; otherwise [vx, wz]."""
    msg = Twist()
    if all(j.split('.')[0] in ('linear', 'angular') for j in joints):
        for j, v in zip(joints, cmd):
            part, axis = j.split('.')
            setattr(getattr(msg, part), axis, float(v))
    else:
        msg.linear.x, msg.angular.z = float(cmd[0]), float(cmd[-1])
    return msg


def diagnostics(level: int, summary: str, values: Dict[str, str], name: str, hardware_id: str,
                stamp) -> DiagnosticArray:
    status = DiagnosticStatus(level=bytes([level]), name=name, message=summary,
                              hardware_id=hardware_id)
    status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = stamp
    return msg
