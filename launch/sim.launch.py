"""The simulated world: world node (physics, scripted expert, two simulated Feetech buses), the two
unchanged so100_drivers on those buses, teleop (leader -> follower), two sim cameras.

    ros2 launch robolearn_bringup sim.launch.py [seed:=0]
    ros2 topic echo /sim/episode
    ros2 service call /world_node/reset std_srvs/srv/Trigger

Parameters come from config/sim.yaml (keyed by node name; the drivers: config/so100_<role>.yaml, then
sim.yaml's ports and calibration files). A driver refuses to start on a port that does not exist, so the
drivers start when world_node logs that its simulated buses are ready.

Arguments:
    seed    the first episode's seed (default 0); /world_node/reset counts up from it. Demonstrations use
            training seeds 0..4999, `evaluate` the evaluation seeds 5000..9999 (robolearn_sim.episode_layout)
    expert  true (default): the scripted expert moves the leader arm; false: the leader stays at home
    teleop  true (default): teleop_node drives the follower from the leader; false: something else commands
            it (policy.launch.py's executor)
    description  true (default): robot_state_publisher with the SO-101 URDF, TF from /follower/joint_states
            (description.launch.py; false where robot_state_publisher is not installed)
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from robolearn_bringup.sim_ready import start_when_buses_ready


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('robolearn_bringup')
    config = PathJoinSubstitution([share, 'config'])
    params = PathJoinSubstitution([config, 'sim.yaml'])
    follower_yaml = PathJoinSubstitution([config, 'so100_follower.yaml'])
    leader_yaml = PathJoinSubstitution([config, 'so100_leader.yaml'])
    world_args = {'seed': ParameterValue(LaunchConfiguration('seed'), value_type=int),
                  'expert': ParameterValue(LaunchConfiguration('expert'), value_type=bool)}
    world = Node(package='robolearn_sim', executable='world_node', name='world_node', parameters=[params, world_args],
                 output='screen')
    drivers = [
        Node(
            package='robolearn_hardware',
            executable='so100_driver',
            name='so100_follower',
            parameters=[follower_yaml, params],
            output='screen',
        ),
        Node(
            package='robolearn_hardware',
            executable='so100_driver',
            name='so100_leader',
            parameters=[leader_yaml, params],
            output='screen',
        ),
    ]
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                'seed',
                default_value='0',
                description='first episode seed: training 0..4999 (demonstrations), evaluation 5000..9999',
            ),
            DeclareLaunchArgument('expert', default_value='true', description='the scripted expert moves the leader arm'),
            DeclareLaunchArgument('teleop', default_value='true', description='teleop_node: the leader drives the follower'),
            DeclareLaunchArgument('description', default_value='true',
                                  description='robot_state_publisher: the URDF and TF of the follower (description.launch.py)'),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', 'description.launch.py']))),
            world,
            start_when_buses_ready(drivers, target_action=world),
            Node(package='robolearn_teleop', executable='teleop_node', name='teleop_node', parameters=[params], output='screen',
                 condition=IfCondition(LaunchConfiguration('teleop'))),
            Node(package='robolearn_camera', executable='camera_node', name='front_camera', parameters=[params], output='screen'),
            Node(package='robolearn_camera', executable='camera_node', name='wrist_camera', parameters=[params], output='screen'),
        ]
    )
