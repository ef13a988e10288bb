"""Plain-Python core of robolearn, no ROS imports: the Feetech protocol and bus, calibration and units, the SO
arm's joints and dataset frame (so_arm), the simulated bus, the LeRobot v3 dataset reader/writer, recording,
policies and the trainer, and the control math of deployment (control)."""
