"""The SO-101 URDF (robot_state_publisher, rviz, chunk_path) is the simulated arm: same package, joint names,
limits, axes and zeros as the MuJoCo model the world runs, and the gripper frame where MuJoCo puts it."""

from pathlib import Path
from urllib.parse import urlparse

import mujoco
import numpy as np
import pytest

from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER
from robolearn_core.so_arm.urdf import Kinematics, parse_joints, robot_description, so101_urdf_path
from robolearn_sim.arm_model import arm_mjcf_path

#: URDF link -> MuJoCo body of the same frame
LINK_BODIES = {'shoulder_link': 'shoulder', 'upper_arm_link': 'upper_arm', 'lower_arm_link': 'lower_arm',
               'wrist_link': 'wrist', 'gripper_link': 'gripper', 'moving_jaw_so101_v1_link': 'moving_jaw_so101_v1'}
#: the MJCF's site between the jaw tips, and the URDF's link for it
GRIPPER_SITE, GRIPPER_LINK = 'gripperframe', 'gripper_frame_link'
LIMIT_TOLERANCE = 1e-4      # rad: the URDF writes 6 digits (-1.91986), the MJCF 16
POSITION_TOLERANCE = 0.002  # m
ROTATION_TOLERANCE = 1e-3   # Frobenius norm of the difference of rotation matrices


@pytest.fixture(scope='module')
def model() -> mujoco.MjModel:
    """The world's arm model, kinematics only: without its 320k-triangle meshes it compiles in 30 ms, not 9 s."""
    spec = mujoco.MjSpec.from_file(str(arm_mjcf_path()))
    for geom in [g for g in spec.geoms if g.type == mujoco.mjtGeom.mjGEOM_MESH]:
        spec.delete(geom)
    for mesh in list(spec.meshes):
        spec.delete(mesh)
    return spec.compile()


def disagreements(urdf: str, model: mujoco.MjModel, configurations: list[np.ndarray]) -> list[str]:
    """Where the URDF and the MuJoCo model differ, one line each (empty: they agree)."""
    problems = []
    joints = parse_joints(urdf)
    revolute = [j.name for j in joints.values() if j.type == 'revolute']
    if sorted(revolute) != sorted(JOINT_NAMES):
        return [f'revolute joints {revolute} are not the SO joints {list(JOINT_NAMES)}']
    chain = Kinematics(urdf, tip='moving_jaw_so101_v1_link').moving_joints
    if chain != list(JOINT_NAMES):
        problems.append(f'joints from base to jaw {chain}, not in servo order {list(JOINT_NAMES)}')
    for name in JOINT_NAMES:
        j, mj_range = joints[name], model.jnt_range[model.joint(name).id]
        if not j.lower < 0 < j.upper:
            problems.append(f'{name}: limits [{j.lower}, {j.upper}] do not contain zero (the middle of the range)')
        if not np.allclose([j.lower, j.upper], mj_range, atol=LIMIT_TOLERANCE):
            problems.append(f'{name}: URDF limits [{j.lower}, {j.upper}] != MuJoCo range {mj_range.tolist()}')
    data = mujoco.MjData(model)
    for q in configurations:
        for name, value in zip(JOINT_NAMES, q):
            data.qpos[model.joint(name).qposadr[0]] = value
        mujoco.mj_kinematics(model, data)
        frames = [(link, data.xpos[model.body(b).id], data.xmat[model.body(b).id]) for link, b in LINK_BODIES.items()]
        frames.append((GRIPPER_LINK, data.site_xpos[model.site(GRIPPER_SITE).id], None))
        for link, position, rotation in frames:
            pose = Kinematics(urdf, tip=link).pose(dict(zip(JOINT_NAMES, q)))
            error = np.linalg.norm(pose[:3, 3] - position)
            if error > POSITION_TOLERANCE:
                problems.append(f'q={np.round(q, 3).tolist()}: {link} {error * 1000:.1f} mm from MuJoCo\'s frame')
            # the URDF's gripper_frame_link is turned 90 degrees about y against the MJCF's site: position only
            if rotation is not None and np.linalg.norm(pose[:3, :3] - rotation.reshape(3, 3)) > ROTATION_TOLERANCE:
                problems.append(f'q={np.round(q, 3).tolist()}: {link} is rotated against MuJoCo\'s frame')
    return problems


def configurations(model: mujoco.MjModel, n: int = 10) -> list[np.ndarray]:
    """q = 0 first (the zero pose), then random poses inside the joint ranges (axes and their signs)."""
    ranges = np.array([model.jnt_range[model.joint(name).id] for name in JOINT_NAMES])
    return [np.zeros(6)] + list(np.random.default_rng(0).uniform(ranges[:, 0], ranges[:, 1], (n, 6)))


def test_the_urdf_is_the_simulated_models_package():
    assert so101_urdf_path().parent == arm_mjcf_path().parent


def test_joint_names_limits_zero_pose_and_axes_match_mujoco(model):
    urdf = robot_description()
    assert disagreements(urdf, model, configurations(model)) == []
    zero = Kinematics(urdf).pose(dict.fromkeys(JOINT_NAMES, 0.0))[:3, 3]
    site = mujoco.MjData(model)
    mujoco.mj_kinematics(model, site)
    assert np.linalg.norm(zero - site.site_xpos[model.site(GRIPPER_SITE).id]) < POSITION_TOLERANCE
    assert 0.3 < zero[0] < 0.45 and 0.15 < zero[2] < 0.3, f'zero pose: gripper at {zero} (the arm up and forward)'
    joints = parse_joints(urdf)  # the limits every node falls back on (joints.LOWER/UPPER) are the URDF's
    np.testing.assert_allclose([(joints[n].lower, joints[n].upper) for n in JOINT_NAMES], np.stack([LOWER, UPPER], 1),
                               atol=LIMIT_TOLERANCE)


@pytest.mark.parametrize('old, new, expected', [
    ('joint name="elbow_flex"', 'joint name="elbow"', 'are not the SO joints'),
    # the elbow's zero 0.1 rad off (its origin turned about the joint axis): the gripper moves ~2 cm
    ('rpy="-3.63608e-16 8.74301e-16 1.5708"', 'rpy="-3.63608e-16 8.74301e-16 1.6708"', 'gripper_frame_link'),
    ('lower="-1.65806" upper="1.65806"', 'lower="-1.65806" upper="1.9"', 'wrist_flex: URDF limits'),
    ('lower="-1.65806" upper="1.65806"', 'lower="0.1" upper="1.65806"', 'do not contain zero'),
])
def test_a_wrong_name_limit_or_zero_is_found(model, old, new, expected):
    urdf = robot_description()
    assert old in urdf
    problems = disagreements(urdf.replace(old, new), model, configurations(model, 2))
    assert any(expected in p for p in problems), problems


def test_a_flipped_axis_is_found(model):
    """At q = 0 an axis's sign does not show; the random poses find it."""
    urdf = robot_description()
    start = urdf.index('<joint name="wrist_flex"')
    flipped = urdf[:start] + urdf[start:].replace('<axis xyz="0 0 1"', '<axis xyz="0 0 -1"', 1)
    problems = disagreements(flipped, model, configurations(model, 2))
    assert any('wrist_link is rotated' in p for p in problems) and not any('q=[0.0, 0.0' in p for p in problems), problems


def test_robot_description_meshes_are_absolute_files():
    urdf = robot_description()
    meshes = urdf.split('filename="')[1:]
    assert len(meshes) == so101_urdf_path().read_text().count('<mesh ') == 34  # 17 parts: visual and collision
    for m in meshes:
        uri = urlparse(m.split('"')[0])
        assert uri.scheme == 'file' and Path(uri.path).is_file(), m[:120]
