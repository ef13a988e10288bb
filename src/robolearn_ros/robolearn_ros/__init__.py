"""The ROS side every robolearn node shares, so that a node file keeps only its wiring.

- ``node_main``: ``run_node`` is every node's ``main`` (Ctrl-C once, start, spin, stop, exit code);
- ``interrupt_once``: the first SIGINT interrupts, later ones (``ros2 launch`` forwards one) are ignored;
- ``parameters``: declare a documented parameter in one line; refuse invalid values with the reasons;
- ``diagnostics``: one status a second on ``/diagnostics``;
- ``image_conversion``: numpy <-> sensor_msgs/Image (PyPI's cv-bridge is a broken ROS 1 copy);
- ``trajectories``: action chunks <-> trajectory_msgs/JointTrajectory, stamps <-> seconds;
- ``rejections``: counting and logging rejected input without flooding the log;
- ``process_graph``: start installed node executables as a launch file does (no ``launch`` package here).
"""
