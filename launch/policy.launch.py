"""policy_node (lifecycle) with config/policy.yaml; autostart configures and activates it.

  ros2 launch dil_ros policy.launch.py policy_path:=runs/x/policy.ts use_sim_time:=true

The node starts disabled unless start_enabled:=true; enable it with
  ros2 service call /policy_node/enable std_srvs/srv/SetBool "{data: true}"
If policy_node dies, or (autostart) fails to configure or activate, the launch fails (exit 1).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from dil_ros.launching import fail_on_exit, fail_on_failed_start


def generate_launch_description():
    arg = LaunchConfiguration
    args = [
        DeclareLaunchArgument('policy_path', description='policy.ts from dil-ros export'),
        DeclareLaunchArgument('policy_sha256', default_value='',
                              description="sha256 policy.ts must have ('' = not checked)"),
        DeclareLaunchArgument('contract', default_value='',
                              description="robot contract YAML ('' = package mujoco_arm.yaml)"),
        DeclareLaunchArgument('controller', default_value='',
                              description="controller name ('' = contract action.controller)"),
        DeclareLaunchArgument('output_mode', default_value='forward_command',
                              description='joint_trajectory | forward_command | twist'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='run on /clock'),
        DeclareLaunchArgument('start_enabled', default_value='false',
                              description='command right after activation'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='configure and activate the lifecycle node'),
    ]
    node = LifecycleNode(
        package='dil_ros', executable='policy_node', name='policy_node', namespace='',
        output='screen',
        parameters=[
            PathJoinSubstitution([FindPackageShare('dil_ros'), 'config', 'policy.yaml']),
            {'policy_path': arg('policy_path'), 'policy_sha256': arg('policy_sha256'),
             'contract': arg('contract'),
             'controller': arg('controller'), 'output_mode': arg('output_mode'),
             'use_sim_time': ParameterValue(arg('use_sim_time'), value_type=bool),
             'start_enabled': ParameterValue(arg('start_enabled'), value_type=bool)},
        ],
    )
    autostart = IfCondition(arg('autostart'))
    configure = EmitEvent(condition=autostart, event=ChangeState(
        lifecycle_node_matcher=matches_action(node),
        transition_id=Transition.TRANSITION_CONFIGURE))
    activate = RegisterEventHandler(condition=autostart, event_handler=OnStateTransition(
        target_lifecycle_node=node, start_state='configuring', goal_state='inactive',
        entities=[EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_ACTIVATE))]))
    checks = fail_on_exit(node) + fail_on_failed_start(node, 'policy_node', autostart)
    return LaunchDescription(args + checks + [node, activate, configure])
