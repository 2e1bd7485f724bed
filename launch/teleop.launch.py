"""Record demonstrations by hand: the sim (or a robot's own topics), teleop_node and recorder_node.

    ros2 launch dil_ros teleop.launch.py output_dir:=$PWD/demos            # MuJoCo arm, keyboard
    ros2 launch dil_ros teleop.launch.py robot:=real device:=joystick output_dir:=$PWD/demos

robot:=sim starts sim_node in hand mode (config/hand_recording.yaml: no time limit, no automatic
reset) and no expert; every node runs on the sim's /clock. robot:=real starts no sim and runs on
wall time; teleop then has no reset to call and the start key only starts the recorder. The
episode keys of the teleop window start (reset + record), keep, discard and mark episodes. A node
that dies fails the launch (exit 1).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from dil_ros.launching import fail_on_exit


def generate_launch_description():
    arg = LaunchConfiguration
    config = PathJoinSubstitution([FindPackageShare('dil_ros'), 'config'])
    hand = PathJoinSubstitution([config, 'hand_recording.yaml'])
    is_sim = PythonExpression(["'", arg('robot'), "' == 'sim'"])
    use_sim_time = ParameterValue(is_sim, value_type=bool)  # the sim stamps with its /clock
    sim = Node(
        package='dil_ros', executable='sim_node', name='sim_node', output='screen',
        condition=IfCondition(is_sim),
        parameters=[PathJoinSubstitution([config, 'sim.yaml']), hand,
                    {'seed': ParameterValue(arg('seed'), value_type=int)}])
    teleop = Node(
        package='dil_ros', executable='teleop_node', name='teleop_node', output='screen',
        parameters=[PathJoinSubstitution([config, 'teleop.yaml']),
                    {'contract': arg('contract'), 'device': arg('device'), 'mode': arg('mode'),
                     'use_sim_time': use_sim_time,
                     'sim_reset': ParameterValue(PythonExpression(
                         ["'/sim_node/reset' if ", is_sim, " else ''"]), value_type=str),
                     'view_rate_hz': ParameterValue(PythonExpression(
                         [arg('view_rate_hz'), ' if ', is_sim, ' else 0.0']), value_type=float)}])
    recorder = Node(
        package='dil_ros', executable='recorder_node', name='recorder_node', output='screen',
        parameters=[PathJoinSubstitution([config, 'recorder.yaml']),
                    {'output_dir': arg('output_dir'), 'contract': arg('contract'),
                     'operator': arg('operator'), 'use_sim_time': use_sim_time}])
    return LaunchDescription([
        DeclareLaunchArgument('robot', default_value='sim', choices=['sim', 'real'],
                              description="sim: MuJoCo sim_node in hand mode; real: a robot's "
                                          'own topics (wall time)'),
        DeclareLaunchArgument('output_dir', default_value='',
                              description='session folder (empty: runs/demos/<timestamp>)'),
        DeclareLaunchArgument('contract', default_value='',
                              description='contract YAML (empty: the embedded arm)'),
        DeclareLaunchArgument('device', default_value='keyboard',
                              description='teleop device: keyboard or joystick'),
        DeclareLaunchArgument('mode', default_value='joint_position',
                              description='joint_position, joint_velocity or twist'),
        DeclareLaunchArgument('view_rate_hz', default_value='10.0',
                              description='live MuJoCo view in the teleop window; 0: none'),
        DeclareLaunchArgument('seed', default_value='0', description='first sim episode seed'),
        DeclareLaunchArgument('operator', default_value='',
                              description='operator name stored with each episode'),
        *fail_on_exit(sim, teleop, recorder),
        sim, teleop, recorder,
    ])
