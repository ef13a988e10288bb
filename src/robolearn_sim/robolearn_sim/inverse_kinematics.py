"""Top-down inverse kinematics for the SO-101: a grasp point and a jaw direction -> five arm joint angles.

Why this form: the scripted expert plans in the table's frame (where the cube and the target are) and
grasps from above, so a pose is (x, y, z) of the point between the jaws plus the yaw of the jaw axis.
The five arm joints have exactly those five degrees of freedom (pan, lift, elbow, wrist flex set the
point and the downward approach; wrist roll sets the jaw yaw). Solved by damped least squares on a
private MjData, so it never disturbs the simulation it plans for.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

#: The arm joints IK moves (the gripper is commanded separately).
ARM_JOINTS = ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll')
#: The site on the fixed jaw that the model defines; its x axis is the approach, its z axis the jaw axis.
GRIPPER_SITE = 'gripperframe'
#: Gripper angle (rad) at which the two fingertip pads are parallel, 40 mm apart (from the model's notes).
PADS_PARALLEL_ANGLE = 0.46


class IKError(RuntimeError):
    """The pose is out of the arm's reach (or against a joint limit)."""


@dataclass(frozen=True)
class IKResult:
    joints: np.ndarray  # (5,) rad, ARM_JOINTS order
    position_error: float  # m
    angle_error: float  # rad


def grasp_rotation(jaw_yaw: float) -> np.ndarray:
    """World rotation of the gripper site for a top-down grasp: approach straight down, jaws along yaw."""
    approach = np.array([0.0, 0.0, -1.0])
    jaw = np.array([np.cos(jaw_yaw), np.sin(jaw_yaw), 0.0])
    return np.column_stack([approach, np.cross(jaw, approach), jaw])


class TopDownIK:
    """Damped least-squares IK for the point between the jaws and the site's orientation."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.site = model.site(GRIPPER_SITE).id
        self.body = model.site_bodyid[self.site]
        self.qpos_adr = np.array([model.joint(n).qposadr[0] for n in ARM_JOINTS])
        self.dof_adr = np.array([model.joint(n).dofadr[0] for n in ARM_JOINTS])
        self.lower = np.array([model.joint(n).range[0] for n in ARM_JOINTS])
        self.upper = np.array([model.joint(n).range[1] for n in ARM_JOINTS])
        self.gripper_adr = model.joint('gripper').qposadr[0]
        self.grasp_offset = self._grasp_offset()

    def _grasp_offset(self) -> np.ndarray:
        """The midpoint between the fingertip pads at the parallel angle, in the site frame."""
        d = self.data
        d.qpos[:] = 0.0
        d.qpos[self.gripper_adr] = PADS_PARALLEL_ANGLE
        mujoco.mj_kinematics(self.model, d)
        pads = [d.geom_xpos[self.model.geom(n).id] for n in ('fixed_jaw_pad', 'moving_jaw_pad')]
        return d.site_xmat[self.site].reshape(3, 3).T @ (np.mean(pads, axis=0) - d.site_xpos[self.site])

    def grasp_point(self, arm_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: (point between the jaws (3,), site rotation (3, 3)) for arm joint angles."""
        d = self.data
        d.qpos[self.qpos_adr] = arm_joints
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_comPos(self.model, d)  # mj_jac needs the com-based frames
        rot = d.site_xmat[self.site].reshape(3, 3).copy()
        return d.site_xpos[self.site] + rot @ self.grasp_offset, rot

    def solve(
        self,
        point: np.ndarray,
        jaw_yaw: float,
        seed: np.ndarray,
        iterations: int = 60,
        tolerance: float = 5e-4,
        orientation_weight: float = 0.05,
        damping: float = 1e-4,
        max_step: float = 0.3,
    ) -> IKResult:
        """Arm joints that put the grasp point at ``point`` with a top-down grasp at ``jaw_yaw``.

        ``orientation_weight`` (m/rad) trades orientation error against position error. Where a top-down
        grasp is out of reach (high above the table the wrist flex runs out) see ``solve_tilting``.
        """
        target_rot = grasp_rotation(jaw_yaw)
        q = np.clip(np.asarray(seed, dtype=float).copy(), self.lower, self.upper)
        jacp = np.zeros((3, self.model.nv))
        jacr = np.zeros((3, self.model.nv))
        err_quat = np.zeros(4)
        for _ in range(iterations):
            pos, rot = self.grasp_point(q)
            pos_err = np.asarray(point) - pos
            # Rotation error as an angular velocity (world frame) that takes rot to target_rot.
            cur_quat, tgt_quat = np.zeros(4), np.zeros(4)
            mujoco.mju_mat2Quat(cur_quat, rot.ravel())
            mujoco.mju_mat2Quat(tgt_quat, target_rot.ravel())
            mujoco.mju_negQuat(err_quat, cur_quat)
            mujoco.mju_mulQuat(err_quat, tgt_quat, err_quat)
            rot_err = np.zeros(3)
            mujoco.mju_quat2Vel(rot_err, err_quat, 1.0)
            if np.linalg.norm(pos_err) < tolerance and np.linalg.norm(rot_err) < 10 * tolerance:
                break
            mujoco.mj_jac(self.model, self.data, jacp, jacr, pos, self.body)
            jac = np.vstack([jacp[:, self.dof_adr], orientation_weight * jacr[:, self.dof_adr]])
            err = np.concatenate([pos_err, orientation_weight * rot_err])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + damping * np.eye(6), err)
            dq *= min(1.0, max_step / max(np.abs(dq).max(), 1e-12))
            q = np.clip(q + dq, self.lower, self.upper)
        pos, rot = self.grasp_point(q)
        cos_angle = (np.trace(rot.T @ target_rot) - 1.0) / 2.0
        return IKResult(q, float(np.linalg.norm(np.asarray(point) - pos)), float(np.arccos(np.clip(cos_angle, -1, 1))))

    def solve_tilting(self, point: np.ndarray, jaw_yaw: float, seed: np.ndarray, tolerance: float = 1e-3) -> IKResult:
        """Like ``solve``, but lets the gripper tilt away from top-down as far as needed to reach ``point``.

        Raises IKError if the point is out of reach even then.
        """
        result = None
        for weight in (0.05, 0.02, 0.008, 0.003):
            result = self.solve(point, jaw_yaw, seed if result is None else result.joints, orientation_weight=weight)
            if result.position_error < tolerance:
                return result
        raise IKError(f'point {np.round(point, 3).tolist()} is out of reach ({result.position_error * 1000:.1f} mm off)')
