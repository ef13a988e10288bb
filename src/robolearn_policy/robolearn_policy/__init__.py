"""policy_node: observations -> action chunks (trajectory_msgs/JointTrajectory)."""
