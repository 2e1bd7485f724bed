"""Record demonstrations: recorder_node, optionally teleop_node, with their params YAML files.

    ros2 launch dil_ros record.launch.py output_dir:=runs/demos/pick teleop:=true device:=keyboard
    ros2 service call /recorder_node/start std_srvs/srv/Trigger     (then ~/stop, ~/discard)

A node that dies (a bad contract, a teleop device it cannot open) fails the launch (exit 1).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from dil_ros.launching import fail_on_exit


def generate_launch_description():
    config = os.path.join(get_package_share_directory('dil_ros'), 'config')
    arg = LaunchConfiguration
    use_sim_time = ParameterValue(arg('use_sim_time'), value_type=bool)
    recorder = Node(
        package='dil_ros', executable='recorder_node', name='recorder_node', output='screen',
        parameters=[arg('recorder_params'),
                    {'output_dir': arg('output_dir'), 'contract': arg('contract'),
                     'use_sim_time': use_sim_time}])
    teleop = Node(
        package='dil_ros', executable='teleop_node', name='teleop_node', output='screen',
        condition=IfCondition(PythonExpression(["'", arg('teleop'), "'.lower() == 'true'"])),
        parameters=[arg('teleop_params'),
                    {'contract': arg('contract'), 'device': arg('device'),
                     'use_sim_time': use_sim_time}])
    return LaunchDescription([
        DeclareLaunchArgument('recorder_params',
                              default_value=os.path.join(config, 'recorder.yaml'),
                              description='recorder_node parameters YAML'),
        DeclareLaunchArgument('teleop_params', default_value=os.path.join(config, 'teleop.yaml'),
                              description='teleop_node parameters YAML'),
        DeclareLaunchArgument('output_dir', default_value='',
                              description='session folder (empty: runs/demos/<timestamp>)'),
        DeclareLaunchArgument('contract', default_value='',
                              description='contract YAML (empty: the embedded arm)'),
        DeclareLaunchArgument('teleop', default_value='false',
                              description='also start teleop_node'),
        DeclareLaunchArgument('device', default_value='joystick',
                              description='teleop device: joystick or keyboard'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='stamp with /clock (simulation)'),
        *fail_on_exit(recorder, teleop),
        recorder,
        teleop,
    ])
