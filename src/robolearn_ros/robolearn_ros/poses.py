"""geometry_msgs poses from numpy: the world's cube and target (MuJoCo's w-first quaternions) and the gripper
path of a chunk (forward kinematics) are built the same way."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseStamped


def pose_stamped(position: np.ndarray, quat_wxyz: np.ndarray, stamp, frame_id: str) -> PoseStamped:
    """A PoseStamped at ``position`` (m) turned by the unit quaternion ``quat_wxyz`` (w first)."""
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in position)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg
