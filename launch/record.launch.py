"""Recording: the cameras (camera.launch.py) and recorder_node writing a LeRobot v3.0 dataset.

    ros2 launch robolearn_bringup record.launch.py root:=~/datasets/pick task:="pick the cube" \
        calibration_file:=~/.robolearn/follower.json
    ros2 service call /recorder/start_episode std_srvs/srv/Trigger
    ros2 service call /recorder/save_episode std_srvs/srv/Trigger    (or discard_episode, stop)

Arguments: root (dataset directory, created or resumed), task (the episodes' task string),
calibration_file (follower calibration JSON, converts radians to LeRobot SO units). The drivers and
teleoperation come from their own launch files.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare('robolearn_bringup')
    params = PathJoinSubstitution([share, 'config', 'recorder.yaml'])
    return LaunchDescription(
        [
            DeclareLaunchArgument('root', description='dataset directory (created, or resumed if it holds one)'),
            DeclareLaunchArgument('task', description='task string of the recorded episodes'),
            DeclareLaunchArgument('calibration_file', description='follower calibration JSON (LeRobot layout)'),
            IncludeLaunchDescription(PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', 'camera.launch.py']))),
            Node(
                package='robolearn_teleop',
                executable='recorder_node',
                name='recorder',
                output='screen',
                # value_type=str: launch_ros reads a bare substitution as YAML (task:=1 would be an int)
                parameters=[
                    params,
                    {
                        'root': ParameterValue(LaunchConfiguration('root'), value_type=str),
                        'task': ParameterValue(LaunchConfiguration('task'), value_type=str),
                        'calibration_file': ParameterValue(LaunchConfiguration('calibration_file'), value_type=str),
                    },
                ],
            ),
        ]
    )
