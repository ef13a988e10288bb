"""teleop_node (leader -> follower) and recorder_node (ROS topics -> LeRobot v3.0 dataset)."""
