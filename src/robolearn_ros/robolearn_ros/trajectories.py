"""Action chunks <-> trajectory_msgs/JointTrajectory, and ROS stamps <-> seconds: the policy node's and executor's format.

Why one module: DESIGN.md fixes the chunk message (header.stamp = the observation time, point i at
time_from_start, positions in radians, the six SO joint names); the policy node writes it, the executor
and the tests read it, and the request (executor -> policy) uses the same layout for the setpoints still
to execute. A chunk's times on the wire are relative to its stamp, as robolearn_core.control.chunk keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Duration, Time
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from robolearn_core.control.chunk import Chunk


def to_seconds(stamp: Time | Duration) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def to_stamp(seconds: float) -> Time:
    sec = int(np.floor(seconds))
    return Time(sec=sec, nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


def to_duration(seconds: float) -> Duration:
    sec = int(np.floor(seconds))
    return Duration(sec=sec, nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


def chunk_to_msg(chunk: Chunk, joint_names: Sequence[str], frame_id: str = '') -> JointTrajectory:
    """A JointTrajectory: stamp = the chunk's stamp, point i at ``times[i]`` from it, positions in radians."""
    msg = JointTrajectory(joint_names=list(joint_names))
    msg.header.stamp, msg.header.frame_id = to_stamp(chunk.stamp), frame_id
    msg.points = [JointTrajectoryPoint(positions=[float(v) for v in row], time_from_start=to_duration(t))
                  for t, row in zip(chunk.times, chunk.positions)]
    return msg


def msg_fields(msg: JointTrajectory) -> tuple[list[str], list[list[float]], list[float], float]:
    """(joint names, positions per point, time_from_start per point in s, stamp in s), unchecked."""
    return (list(msg.joint_names), [list(p.positions) for p in msg.points],
            [to_seconds(p.time_from_start) for p in msg.points], to_seconds(msg.header.stamp))
