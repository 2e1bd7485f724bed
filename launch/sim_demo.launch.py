"""MuJoCo bring-up: sim_node + scripted expert_node (+ recorder_node, record:=true), sim time.

  ros2 launch dil_ros sim_demo.launch.py real_time_factor:=0.0 record:=true output_dir:=runs/x

sim_node publishes /clock; every node runs with use_sim_time (sim_node's own stepping uses a steady
clock, so it never waits for itself). A node that dies fails the launch (exit 1).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from dil_ros.launching import fail_on_exit


def generate_launch_description():
    use_sim_time = LaunchConfiguration('use_sim_time')
    config = FindPackageShare('dil_ros')
    args = [
        DeclareLaunchArgument('use_sim_time', default_value='true',
                              description='run expert and recorder on the sim /clock'),
        DeclareLaunchArgument('real_time_factor', default_value='1.0',
                              description='sim speed; 0.0 = as fast as possible'),
        DeclareLaunchArgument('seed', default_value='0', description='first episode seed'),
        DeclareLaunchArgument('max_episodes', default_value='0',
                              description='episodes to run; 0 = no limit'),
        DeclareLaunchArgument('record_video', default_value='',
                              description='mp4 path (empty: no video)'),
        DeclareLaunchArgument('record', default_value='false',
                              description='also start recorder_node'),
        DeclareLaunchArgument('output_dir', default_value='',
                              description='recorder session folder (empty: runs/demos/<time>)'),
    ]
    sim = Node(
        package='dil_ros', executable='sim_node', name='sim_node', output='screen',
        parameters=[
            PathJoinSubstitution([config, 'config', 'sim.yaml']),
            {'real_time_factor': ParameterValue(LaunchConfiguration('real_time_factor'),
                                                value_type=float),
             'seed': ParameterValue(LaunchConfiguration('seed'), value_type=int),
             'max_episodes': ParameterValue(LaunchConfiguration('max_episodes'), value_type=int),
             'record_video': LaunchConfiguration('record_video')},
        ],
    )
    expert = Node(
        package='dil_ros', executable='expert_node', name='expert_node', output='screen',
        parameters=[PathJoinSubstitution([config, 'config', 'expert.yaml']),
                    {'use_sim_time': use_sim_time}],
    )
    recorder = Node(
        package='dil_ros', executable='recorder_node', name='recorder_node', output='screen',
        condition=IfCondition(LaunchConfiguration('record')),
        parameters=[{'use_sim_time': use_sim_time,
                     'output_dir': LaunchConfiguration('output_dir'),
                     'extra_topics': ['/task/status:std_msgs/msg/String',
                                      '/task/episode_result:std_msgs/msg/String']}],
    )
    return LaunchDescription(args + fail_on_exit(sim, expert, recorder) + [sim, expert, recorder])
