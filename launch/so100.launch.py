"""SO-100/SO-101 arms: so100_driver for the follower and the leader (config/so100_follower.yaml, so100_leader.yaml).

    ros2 launch robolearn_bringup so100.launch.py follower_port:=/dev/ttyACM0 leader_port:=/dev/ttyACM1
    ros2 topic hz /follower/joint_states

Arguments (each defaults to the value in the YAML file):
    follower_port, leader_port                  serial devices of the arms
    follower_calibration, leader_calibration    LeRobot calibration JSON files written by `calibrate`
    leader                                      true (default): the leader arm too; false: the follower only
With a simulated arm: `sim_bus --link /tmp/so100_follower --calibration-out /tmp/so100_follower.json` and
pass those paths.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    config = PathJoinSubstitution([FindPackageShare('robolearn_bringup'), 'config'])
    follower_yaml = PathJoinSubstitution([config, 'so100_follower.yaml'])
    leader_yaml = PathJoinSubstitution([config, 'so100_leader.yaml'])
    defaults = {
        'follower_port': '/dev/ttyACM0',
        'leader_port': '/dev/ttyACM1',
        'follower_calibration': '~/.cache/robolearn/calibration/so100_follower.json',
        'leader_calibration': '~/.cache/robolearn/calibration/so100_leader.json',
    }
    args = [
        DeclareLaunchArgument(name, default_value=value, description=f'{name} (default {value})')
        for name, value in defaults.items()
    ]
    # value_type=str: launch_ros reads a bare substitution as YAML, so a value like '1' would not be a string
    follower_overrides = {
        'port': ParameterValue(LaunchConfiguration('follower_port'), value_type=str),
        'calibration_file': ParameterValue(LaunchConfiguration('follower_calibration'), value_type=str),
    }
    leader_overrides = {
        'port': ParameterValue(LaunchConfiguration('leader_port'), value_type=str),
        'calibration_file': ParameterValue(LaunchConfiguration('leader_calibration'), value_type=str),
    }
    return LaunchDescription(
        [
            *args,
            DeclareLaunchArgument('leader', default_value='true', description='start the leader arm driver too'),
            Node(
                package='robolearn_hardware',
                executable='so100_driver',
                name='so100_follower',
                parameters=[follower_yaml, follower_overrides],
                output='screen',
            ),
            Node(
                package='robolearn_hardware',
                executable='so100_driver',
                name='so100_leader',
                parameters=[leader_yaml, leader_overrides],
                output='screen',
                condition=IfCondition(LaunchConfiguration('leader')),
            ),
        ]
    )
