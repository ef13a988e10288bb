"""The simulated world: the scene's physics, the follower and leader JointBackends, reset to a seed, success.

Plain Python (no rclpy): the world node, the evaluator and the benchmarks all drive this one object.
Wiring the simulated Feetech buses in is one step: give ``world.follower_backend`` and
``world.leader_backend`` to the two simulated buses (robolearn_core.feetech.joint_backend.JointBackend), then keep
calling ``world.step``. Every access to the physics holds ``world.lock``, so bus threads may read and
write the backends while the world steps.
"""

from __future__ import annotations

import threading

import mujoco
import numpy as np

from robolearn_sim.arm_model import DEFAULT_MESH_CELL
from robolearn_sim.episode_layout import EpisodeLayout, sample_layout
from robolearn_sim.joint_backends import LeaderArmBackend, MujocoArmBackend
from robolearn_sim.scene import CUBE_HALF, build_scene
from robolearn_sim.task_success import CubeState, cube_placed

#: The arm's rest pose at the start of an episode (rad, SO joint order): the point between the jaws 6 cm
#: above the table 13 cm in front of the base, gripper pointing down, jaws closed.
HOME_POSITIONS = np.array([0.195, -0.921, 0.876, 1.614, 1.812, 0.0])


class World:
    """One MuJoCo scene with its episode state."""

    def __init__(self, mesh_cell: float = DEFAULT_MESH_CELL, model: mujoco.MjModel | None = None) -> None:
        self.model = model if model is not None else build_scene(mesh_cell)
        self.data = mujoco.MjData(self.model)
        self.lock = threading.RLock()
        self.follower_backend = MujocoArmBackend(self.model, self.data, self.lock)
        lower = self.model.jnt_range[[self.model.joint(n).id for n in self.follower_backend.joint_names], 0]
        upper = self.model.jnt_range[[self.model.joint(n).id for n in self.follower_backend.joint_names], 1]
        self.leader_backend = LeaderArmBackend(lower, upper, self.lock)
        self._cube_body = self.model.body('cube').id
        self._cube_qpos = self.model.joint('cube').qposadr[0]
        self._cube_dof = self.model.joint('cube').dofadr[0]
        self._cube_geom = self.model.geom('cube').id
        self._target_geom = self.model.geom('target').id
        arm_root = self.model.body('base').id
        self._arm_bodies = {b for b in range(self.model.nbody) if self._has_ancestor(b, arm_root)}
        self.layout: EpisodeLayout | None = None

    def _has_ancestor(self, body: int, ancestor: int) -> bool:
        while body != 0:
            if body == ancestor:
                return True
            body = self.model.body_parentid[body]
        return False

    @property
    def time(self) -> float:
        """Simulated seconds since the last reset."""
        return float(self.data.time)

    def reset(self, seed: int) -> EpisodeLayout:
        """Start episode ``seed``: cube and target where the seed puts them, both arms at home, at rest."""
        layout = sample_layout(seed)
        with self.lock:
            mujoco.mj_resetData(self.model, self.data)
            self.follower_backend.set_goal_positions(HOME_POSITIONS, np.ones(6, dtype=bool))
            self.follower_backend.hold(HOME_POSITIONS)
            self.leader_backend.set_goal_positions(HOME_POSITIONS, np.zeros(6, dtype=bool))  # moved by hand
            self.leader_backend.place(HOME_POSITIONS)
            self.set_cube_pose(np.array([*layout.cube_xy, CUBE_HALF]), layout.cube_yaw)
            self.model.geom_pos[self._target_geom, :2] = layout.target_xy
            mujoco.mj_forward(self.model, self.data)
            self.layout = layout
        return layout

    def set_cube_pose(self, position: np.ndarray, yaw: float = 0.0) -> None:
        """Put the cube at ``position`` (its centre, m) turned by ``yaw`` about z, at rest."""
        with self.lock:
            adr, dof = self._cube_qpos, self._cube_dof
            self.data.qpos[adr:adr + 3] = position
            self.data.qpos[adr + 3:adr + 7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
            self.data.qvel[dof:dof + 6] = 0.0
            mujoco.mj_forward(self.model, self.data)

    def step(self, seconds: float) -> None:
        """Advance the physics by ``seconds`` (rounded to whole physics steps)."""
        n = max(1, round(seconds / self.model.opt.timestep))
        with self.lock:
            mujoco.mj_step(self.model, self.data, nstep=n)

    def cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The cube's centre (3,) m and orientation quaternion (w, x, y, z)."""
        with self.lock:
            return self.data.xpos[self._cube_body].copy(), self.data.xquat[self._cube_body].copy()

    def target_xy(self) -> np.ndarray:
        return self.model.geom_pos[self._target_geom, :2].copy()

    def cube_state(self) -> CubeState:
        with self.lock:
            touching = False
            for i in range(self.data.ncon):
                c = self.data.contact[i]
                if self._cube_geom in (c.geom1, c.geom2):
                    other = c.geom2 if c.geom1 == self._cube_geom else c.geom1
                    touching |= int(self.model.geom_bodyid[other]) in self._arm_bodies
            dof = self._cube_dof
            return CubeState(
                position=self.data.xpos[self._cube_body].copy(),
                linear_speed=float(np.linalg.norm(self.data.qvel[dof:dof + 3])),
                touching_arm=touching,
            )

    def success(self) -> bool:
        """Whether the episode's task is done now (the cube placed on the target and released)."""
        return cube_placed(self.cube_state(), tuple(self.target_xy()))
