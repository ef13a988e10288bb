"""Teleoperate and record: the leader arm drives the follower while cameras stream, episodes go into a
LeRobot v3.0 dataset. With sim:=true (the default) the arms and cameras are the simulated world's and the
scripted expert moves the leader arm.

    ros2 launch robolearn_bringup teleop_record.launch.py root:=~/datasets/pick task:="pick up the cube"
    ros2 launch robolearn_bringup teleop_record.launch.py sim:=false root:=~/datasets/pick task:="..." \
        follower_port:=/dev/ttyACM0 leader_port:=/dev/ttyACM1
    ros2 service call /recorder/start_episode std_srvs/srv/Trigger     (then save_episode, discard_episode, stop)
    ros2 service call /world_node/reset std_srvs/srv/Trigger           (sim: the next seed's episode; docs/recording.md)

Arguments:
    sim                     true: simulated world (sim.launch.py); false: real arms (so100.launch.py),
                            cameras (camera.launch.py) and teleop_node (config/teleop.yaml)
    root, task              dataset directory (created, or resumed) and the episodes' task string
    seed                    sim only: the first episode's seed (default 0; training seeds 0..4999), see sim.launch.py
    follower_port, leader_port, follower_calibration, leader_calibration
                            real arms only; see so100.launch.py
    description             true (default): robot_state_publisher with the SO-101 URDF, TF from
                            /follower/joint_states (description.launch.py); false where it is not installed
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from robolearn_bringup.sim_ready import start_when_buses_ready
from robolearn_sim.graph_paths import calibration_file


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('robolearn_bringup')
    sim = LaunchConfiguration('sim')

    def include(name: str, condition) -> IncludeLaunchDescription:
        return IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', name])), condition=condition
        )

    def recorder(calibration, condition) -> Node:
        # ParameterValue(value_type=str): launch_ros reads a bare substitution as YAML, so task:="1" or
        # task:="pick: the cube" would reach the node as an int or a dict and kill it
        return Node(
            package='robolearn_teleop', executable='recorder_node', name='recorder', output='screen',
            parameters=[
                PathJoinSubstitution([share, 'config', 'recorder.yaml']),
                {'root': ParameterValue(LaunchConfiguration('root'), value_type=str),
                 'task': ParameterValue(LaunchConfiguration('task'), value_type=str),
                 'calibration_file': ParameterValue(calibration, value_type=str)},
            ],
            condition=condition,
        )

    return LaunchDescription(
        [
            DeclareLaunchArgument('sim', default_value='true', description='simulated world instead of real arms and cameras'),
            DeclareLaunchArgument('root', description='dataset directory (created, or resumed if it holds one)'),
            DeclareLaunchArgument('task', description='task string of the recorded episodes'),
            DeclareLaunchArgument('description', default_value='true',
                                  description='robot_state_publisher: the URDF and TF of the follower (description.launch.py)'),
            DeclareLaunchArgument('follower_calibration', default_value='~/.cache/robolearn/calibration/so100_follower.json',
                                  description='follower calibration JSON (real arm; converts radians to LeRobot units)'),
            # sim: the world writes the follower calibration when its buses are ready; a recorder started
            # before that exits with "calibration file does not exist"
            start_when_buses_ready([recorder(calibration_file('follower'), None)], condition=IfCondition(sim)),
            include('sim.launch.py', IfCondition(sim)),  # which includes description.launch.py
            include('so100.launch.py', UnlessCondition(sim)),
            include('description.launch.py', UnlessCondition(sim)),
            include('camera.launch.py', UnlessCondition(sim)),
            Node(
                package='robolearn_teleop', executable='teleop_node', name='teleop_node', output='screen',
                parameters=[PathJoinSubstitution([share, 'config', 'teleop.yaml'])], condition=UnlessCondition(sim),
            ),
            recorder(LaunchConfiguration('follower_calibration'), UnlessCondition(sim)),
        ]
    )
