"""camera_node (OpenCV capture, video file, test pattern or the simulator's renderer) and the numpy <-> sensor_msgs/Image conversion every package uses."""
