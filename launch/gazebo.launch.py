"""Gazebo (gz sim) twin of the MuJoCo arm through gz_ros2_control, after the gz_ros2_control demos.

world (generated from dil_ros/sim/task.py: pillar, goal marker, goal region) -> gz_sim ->
xacro -> robot_state_publisher -> create -> joint_state_broadcaster spawner -> arm_controller
spawner (JTC, --param-file) -> forward_position_controller spawner (inactive, its ~/commands
remapped to the contract's /arm_controller/commands); goal_node publishes /task/goal as sim_node
does in MuJoCo; /clock bridged; use_sim_time to every node.

  ros2 launch dil_ros gazebo.launch.py
  ros2 launch dil_ros policy.launch.py policy_path:=runs/demo/policy.ts use_sim_time:=true \
      output_mode:=joint_trajectory start_enabled:=true
  ros2 service call /goal_node/reset std_srvs/srv/Trigger     (next goal, as sim_node's ~/reset)

The policy commands arm_controller (JTC); forward_command needs forward_position_controller
switched active first.
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction,
                            RegisterEventHandler)
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.logging import launch_config
from launch.substitutions import (Command, FindExecutable, LaunchConfiguration,
                                  PathJoinSubstitution)
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from dil_ros.launching import fail_on_exit
from dil_ros.sim.gazebo_world import write_world


def gz_sim(context):
    """gz sim on ``world``, or on the task's world written now next to this launch's logs."""
    world = LaunchConfiguration('world').perform(context)
    if not world:
        world = str(write_world(Path(launch_config.log_dir) / 'dil_arm_world.sdf'))
    gz_args = LaunchConfiguration('gz_args').perform(context)
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource([PathJoinSubstitution(
            [FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])]),
        launch_arguments=[('gz_args', f'{gz_args} {world}')])]


def generate_launch_description():
    use_sim_time = LaunchConfiguration('use_sim_time')
    share = FindPackageShare('dil_ros')
    controllers = PathJoinSubstitution([share, 'config', 'controllers.yaml'])
    robot_description = ParameterValue(Command([
        PathJoinSubstitution([FindExecutable(name='xacro')]), ' ',
        PathJoinSubstitution([share, 'urdf', 'arm.urdf.xacro']), ' ',
        'controllers_file:=', controllers,
    ]), value_type=str)

    node_robot_state_publisher = Node(
        package='robot_state_publisher',
        executable='robot_state_publisher',
        output='screen',
        parameters=[{'robot_description': robot_description, 'use_sim_time': use_sim_time}],
    )
    gz_spawn_entity = Node(
        package='ros_gz_sim',
        executable='create',
        output='screen',
        arguments=['-topic', 'robot_description', '-name', 'dil_arm', '-allow_renaming', 'true'],
        parameters=[{'use_sim_time': use_sim_time}],
    )
    joint_state_broadcaster_spawner = Node(
        package='controller_manager',
        executable='spawner',
        arguments=['joint_state_broadcaster', '--param-file', controllers],
        parameters=[{'use_sim_time': use_sim_time}],
    )
    arm_controller_spawner = Node(
        package='controller_manager',
        executable='spawner',
        arguments=['arm_controller', '--param-file', controllers],
        parameters=[{'use_sim_time': use_sim_time}],
    )
    forward_controller_spawner = Node(
        package='controller_manager',
        executable='spawner',
        arguments=['forward_position_controller', '--param-file', controllers, '--inactive',
                   '--controller-ros-args', '-r ~/commands:=/arm_controller/commands'],
        parameters=[{'use_sim_time': use_sim_time}],
    )
    goal = Node(
        package='dil_ros', executable='goal_node', name='goal_node', output='screen',
        parameters=[PathJoinSubstitution([share, 'config', 'goal.yaml']),
                    {'use_sim_time': use_sim_time}],
    )
    bridge = Node(
        package='ros_gz_bridge',
        executable='parameter_bridge',
        arguments=['/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock'],
        parameters=[{'use_sim_time': use_sim_time}],
        output='screen',
    )

    return LaunchDescription([
        DeclareLaunchArgument('use_sim_time', default_value='true',
                              description='If true, use simulated clock'),
        DeclareLaunchArgument('gz_args', default_value='-r -v 1',
                              description='arguments for gz sim (the world is appended)'),
        DeclareLaunchArgument('world', default_value='',
                              description="SDF world ('' = the task's, from dil_ros.sim.task)"),
        bridge,
        OpaqueFunction(function=gz_sim),
        RegisterEventHandler(event_handler=OnProcessExit(
            target_action=gz_spawn_entity, on_exit=[joint_state_broadcaster_spawner])),
        RegisterEventHandler(event_handler=OnProcessExit(
            target_action=joint_state_broadcaster_spawner, on_exit=[arm_controller_spawner])),
        RegisterEventHandler(event_handler=OnProcessExit(
            target_action=arm_controller_spawner, on_exit=[forward_controller_spawner])),
        *fail_on_exit(node_robot_state_publisher, goal, bridge),
        node_robot_state_publisher,
        gz_spawn_entity,
        goal,
    ])
