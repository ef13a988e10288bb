"""The simulated world: world node (physics, scripted expert), teleop (leader -> follower), two sim cameras.

    ros2 launch robolearn_bringup sim.launch.py
    ros2 topic echo /sim/episode
    ros2 service call /world_node/reset std_srvs/srv/Trigger

Parameters come from config/sim.yaml (keyed by node name).
"""

from launch import LaunchDescription
from launch.substitutions import PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    params = PathJoinSubstitution([FindPackageShare('robolearn_bringup'), 'config', 'sim.yaml'])
    return LaunchDescription(
        [
            Node(package='robolearn_sim', executable='world_node', name='world_node', parameters=[params], output='screen'),
            Node(package='robolearn_teleop', executable='teleop_node', name='teleop_node', parameters=[params], output='screen'),
            Node(package='robolearn_camera', executable='camera_node', name='front_camera', parameters=[params], output='screen'),
            Node(package='robolearn_camera', executable='camera_node', name='wrist_camera', parameters=[params], output='screen'),
        ]
    )
