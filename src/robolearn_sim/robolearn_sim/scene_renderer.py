"""Renders the scene's cameras from a snapshot of the world's state (arm joints, cube pose, target).

Why a separate copy of the scene: the camera processes render while the world process keeps the physics
in real time; each renderer holds its own model and only needs the world's published state (a few
numbers), not its physics. Shadows and anti-aliasing are off (CPU rendering), for training and
evaluation alike.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_sim.arm_model import DEFAULT_MESH_CELL
from robolearn_sim.scene import CAMERA_NAMES, build_scene

MIN_SIZE, MAX_SIZE = (96, 128), (480, 640)


class SceneRenderer:
    """One offscreen renderer of ``height`` x ``width`` for the scene's cameras."""

    def __init__(
        self, height: int, width: int, mesh_cell: float = DEFAULT_MESH_CELL, model: mujoco.MjModel | None = None
    ) -> None:
        if not (MIN_SIZE[0] <= height <= MAX_SIZE[0] and MIN_SIZE[1] <= width <= MAX_SIZE[1]):
            raise ValueError(f'render size {height}x{width} is outside {MIN_SIZE[0]}x{MIN_SIZE[1]}..{MAX_SIZE[0]}x{MAX_SIZE[1]}')
        self.model = model if model is not None else build_scene(mesh_cell)
        self.data = mujoco.MjData(self.model)
        self.model.vis.quality.offsamples = 0  # no multisampling
        self.renderer = mujoco.Renderer(self.model, height, width)
        self._qpos = np.array([self.model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._cube = self.model.joint('cube').qposadr[0]
        self._target = self.model.geom('target').id
        mujoco.mj_forward(self.model, self.data)

    def set_state(
        self,
        joints: np.ndarray | None = None,
        cube_position: np.ndarray | None = None,
        cube_quat_wxyz: np.ndarray | None = None,
        target_xy: np.ndarray | None = None,
    ) -> None:
        """Move the scene to the world's state (what is None stays as it was)."""
        if joints is not None:
            self.data.qpos[self._qpos] = joints
        if cube_position is not None:
            self.data.qpos[self._cube : self._cube + 3] = cube_position
        if cube_quat_wxyz is not None:
            self.data.qpos[self._cube + 3 : self._cube + 7] = cube_quat_wxyz
        if target_xy is not None:
            self.model.geom_pos[self._target, :2] = target_xy
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)  # the wrist camera rides on the arm

    def render(self, camera: str) -> np.ndarray:
        """(height, width, 3) uint8 RGB from camera ``camera`` ('front' or 'wrist')."""
        if camera not in CAMERA_NAMES:
            raise ValueError(f'camera {camera!r} is not one of {", ".join(CAMERA_NAMES)}')
        self.renderer.update_scene(self.data, camera=camera)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()
