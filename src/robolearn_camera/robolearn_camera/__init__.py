"""camera_node: frames from OpenCV, a video file, colour bars or the simulator's renderer, as sensor_msgs/Image."""
