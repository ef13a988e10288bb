"""chunk_path as a separate process over real DDS: a chunk in, the gripper's path out, one pose per point."""

from __future__ import annotations

import numpy as np
from nav_msgs.msg import Path
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.control.chunk import Chunk
from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER
from robolearn_core.so_arm.urdf import Kinematics, robot_description
from robolearn_ros.trajectories import chunk_to_msg, to_seconds


def send_until_answered(ros_graph, publisher, msg: JointTrajectory, paths: list, timeout: float = 15.0) -> Path:
    """Publish ``msg`` every 0.3 s (until discovery has matched the two) and return the first path that comes."""
    n = len(paths)
    deadline = [0.0]

    def answered() -> bool:
        if len(paths) > n:
            return True
        if ros_graph.node.get_clock().now().nanoseconds * 1e-9 > deadline[0]:
            publisher.publish(msg)
            deadline[0] = ros_graph.node.get_clock().now().nanoseconds * 1e-9 + 0.3
        return False

    ros_graph.spin_until(answered, timeout, 'a path on /policy/chunk_path')
    return paths[n]


def test_a_chunk_becomes_the_gripper_path_at_the_forward_kinematics(ros_graph):
    node = ros_graph.start('robolearn_policy', 'chunk_path', name='chunk_path', params_file='config/policy.yaml')
    node.wait_for_output('drawing /policy/action_chunk as the path of gripper_frame_link in base_link', timeout=30)
    paths = ros_graph.subscribe('/policy/chunk_path', Path)
    chunks = ros_graph.publisher('/policy/action_chunk', JointTrajectory)

    rng = np.random.default_rng(3)
    positions = rng.uniform(LOWER, UPPER, (8, 6))
    positions[0] = 0.0                                    # the zero pose: the arm up and forward
    order = [4, 0, 5, 2, 1, 3]                            # the sender's joint order is not ours
    stamp = 1000.25
    msg = chunk_to_msg(Chunk(stamp, np.arange(8) / 30.0, positions[:, order]), [JOINT_NAMES[i] for i in order])
    path = send_until_answered(ros_graph, chunks, msg, paths)

    kinematics = Kinematics(robot_description())
    expected = kinematics.poses(JOINT_NAMES, positions)
    assert path.header.frame_id == 'base_link' and to_seconds(path.header.stamp) == stamp
    assert len(path.poses) == 8
    for pose, want, t in zip(path.poses, expected, np.arange(8) / 30.0):
        p = pose.pose.position
        np.testing.assert_allclose([p.x, p.y, p.z], want[:3, 3], atol=1e-9)
        assert pose.header.frame_id == 'base_link' and abs(to_seconds(pose.header.stamp) - (stamp + t)) < 1e-6
    o = path.poses[0].pose.orientation
    assert np.isclose(np.linalg.norm([o.x, o.y, o.z, o.w]), 1.0)
    assert 0.3 < path.poses[0].pose.position.x < 0.45  # q = 0: the gripper ahead of the base, as in MuJoCo

    # a chunk without the wrist joints is refused, said in the log, and draws nothing
    ros_graph.spin_for(0.5)                              # the copies sent before discovery matched, if any
    assert all(len(p.poses) == 8 for p in paths)
    drawn = len(paths)
    bad = chunk_to_msg(Chunk(stamp, np.arange(2) / 30.0, positions[:2, :3]), JOINT_NAMES[:3])
    chunks.publish(bad)
    node.wait_for_output("chunk not drawn: joint names .* lack \\['wrist_flex', 'wrist_roll'\\]", timeout=5)
    ros_graph.spin_for(0.3)
    assert len(paths) == drawn
