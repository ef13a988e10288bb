"""URDF parsing and forward kinematics on a two-link arm whose answers are known by hand; quaternions;
mesh paths made absolute. (The SO-101 URDF against the MuJoCo model: robolearn_sim's test_arm_urdf.py.)"""

import numpy as np
import pytest

from robolearn_core.so_arm.urdf import Kinematics, axis_angle_matrix, parse_joints, quaternion_xyzw, robot_description, rpy_matrix

TWO_LINKS = """<robot name="two">
  <link name="base"/><link name="upper"/><link name="lower"/><link name="tip"/>
  <joint name="pan" type="revolute"><parent link="base"/><child link="upper"/>
    <origin xyz="0 0 0.1"/><axis xyz="0 0 1"/><limit lower="-1" upper="1"/></joint>
  <joint name="lift" type="revolute"><parent link="upper"/><child link="lower"/>
    <origin xyz="0.2 0 0" rpy="1.5707963267948966 0 0"/><axis xyz="0 0 1"/><limit lower="-2" upper="2"/></joint>
  <joint name="tool" type="fixed"><parent link="lower"/><child link="tip"/><origin xyz="0.3 0 0"/></joint>
  <transmission name="t"><joint name="pan"/></transmission>
</robot>"""


def test_parse_reads_joints_not_transmission_references():
    joints = parse_joints(TWO_LINKS)
    assert list(joints) == ['pan', 'lift', 'tool']
    assert (joints['lift'].parent, joints['lift'].child, joints['lift'].lower, joints['lift'].upper) == ('upper', 'lower', -2, 2)
    assert joints['tool'].lower is None and np.allclose(joints['lift'].origin[:3, 3], [0.2, 0, 0])


def test_forward_kinematics_by_hand():
    k = Kinematics(TWO_LINKS, base='base', tip='tip')
    assert k.moving_joints == ['pan', 'lift']
    np.testing.assert_allclose(k.pose({'pan': 0, 'lift': 0})[:3, 3], [0.5, 0, 0.1], atol=1e-12)
    # pan a quarter turn: the arm points along y
    np.testing.assert_allclose(k.pose({'pan': np.pi / 2, 'lift': 0})[:3, 3], [0, 0.5, 0.1], atol=1e-12)
    # lift's axis is its frame's z, which the roll of +90 deg turns onto -y: +90 deg about -y raises the tip
    np.testing.assert_allclose(k.pose({'pan': 0, 'lift': np.pi / 2})[:3, 3], [0.2, 0, 0.4], atol=1e-12)
    poses = k.poses(['lift', 'pan'], np.array([[0, 0], [0, np.pi / 2]]))
    assert poses.shape == (2, 4, 4) and np.allclose(poses[1, :3, 3], [0, 0.5, 0.1])
    assert k.poses(['pan', 'lift'], np.zeros((0, 2))).shape == (0, 4, 4)


def test_unknown_chain_is_refused():
    with pytest.raises(ValueError, match="no chain of joints from link 'base' to 'hand'"):
        Kinematics(TWO_LINKS, base='base', tip='hand')


def _quaternion_matrix(x, y, z, w):
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_quaternion_round_trip_including_half_turns():
    rng = np.random.default_rng(1)
    rotations = [rpy_matrix(rng.uniform(-np.pi, np.pi, 3)) for _ in range(50)]
    half_turns = ([1, 0, 0], [0, 1, 0], [1, -1, 0], [0, 1, -1])
    rotations += [axis_angle_matrix(np.array(a) / np.linalg.norm(a), np.pi) for a in half_turns]
    rotations += [np.eye(3)]
    for r in rotations:
        q = quaternion_xyzw(r)
        assert q[3] >= 0 and np.isclose(np.linalg.norm(q), 1)
        np.testing.assert_allclose(_quaternion_matrix(*q), r, atol=1e-9)


def test_robot_description_makes_relative_mesh_paths_absolute(tmp_path):
    (tmp_path / 'meshes').mkdir()
    urdf = tmp_path / 'arm.urdf'
    urdf.write_text('<?xml version="1.0"?>\n<!-- header -->\n<robot name="a"><link name="l"><visual><geometry>'
                    '<mesh filename="meshes/a.stl"/></geometry></visual><collision><geometry>'
                    '<mesh filename="package://pkg/b.stl"/></geometry></collision></link></robot>')
    text = robot_description(urdf)
    assert f'filename="file://{tmp_path}/meshes/a.stl"' in text
    assert 'filename="package://pkg/b.stl"' in text and f'from {urdf}' in text
