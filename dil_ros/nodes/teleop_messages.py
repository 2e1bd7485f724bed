"""The teleop topic's messages (message classes only; no rclpy runtime)."""
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Twist
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from dil_ros.contract import JOINT_STATE

TELEOP_TYPES = ('std_msgs/msg/Float64MultiArray', 'trajectory_msgs/msg/JointTrajectory',
                JOINT_STATE)


def command_message(command, msg_type: str, joints, dt: float):
    """The teleop topic's message for a command (positions or velocities, in ``joints`` order)."""
    values = [float(v) for v in command.values]
    if command.kind == 'twist':
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.linear.z, msg.angular.z = values
        return msg
    key = 'positions' if command.kind == 'position' else 'velocities'
    if msg_type == 'std_msgs/msg/Float64MultiArray':
        return Float64MultiArray(data=values)
    if msg_type == 'trajectory_msgs/msg/JointTrajectory':
        # One point reached after one tick (never t = 0: that is a step, see STYLE.md).
        nsec = max(1, int(dt * 1e9))
        point = JointTrajectoryPoint(time_from_start=Duration(sec=nsec // 10**9,
                                                              nanosec=nsec % 10**9))
        setattr(point, key, values)
        return JointTrajectory(joint_names=list(joints), points=[point])
    if msg_type == JOINT_STATE:
        msg = JointState(name=list(joints))
        setattr(msg, 'position' if command.kind == 'position' else 'velocity', values)
        return msg
    raise ValueError(f'unsupported teleop type {msg_type}')
