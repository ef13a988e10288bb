"""Cameras: one camera_node per camera, parameters from config/camera.yaml (keyed by node name).

    ros2 launch robolearn_bringup camera.launch.py
    ros2 topic hz /cameras/front/image_raw
"""

from launch import LaunchDescription
from launch.substitutions import PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    params = PathJoinSubstitution([FindPackageShare('robolearn_bringup'), 'config', 'camera.yaml'])
    return LaunchDescription(
        [
            Node(package='robolearn_camera', executable='camera_node', name='front_camera', parameters=[params], output='screen'),
            Node(package='robolearn_camera', executable='camera_node', name='wrist_camera', parameters=[params], output='screen'),
        ]
    )
