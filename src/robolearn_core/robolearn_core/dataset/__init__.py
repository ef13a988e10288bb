"""LeRobot v3.0 datasets: writer, reader, stats, validation (plain Python, no rclpy)."""
