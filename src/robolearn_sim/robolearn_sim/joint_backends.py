"""The two JointBackends of the simulated world (robolearn_core.feetech.joint_backend.JointBackend).

- ``MujocoArmBackend``: the follower arm in the physics. Goals set the targets of the position
  actuators (the model's STS3215-like servos); present positions, velocities and loads are read back from
  the simulation. A joint whose torque is disabled goes limp (its actuator's gains are zeroed).
- ``LeaderArmBackend``: the invisible leader arm that the scripted expert moves by hand, as a person
  moves a real leader arm. No physics: its joints are where the expert last put them.

Both are safe to call from a bus thread while the world steps: they share the world's lock.
"""

from __future__ import annotations

import threading

import mujoco
import numpy as np

from robolearn_core.feetech.joint_backend import goal_arrays
from robolearn_core.so_arm.joints import JOINT_NAMES


class MujocoArmBackend:
    """The follower arm's joints in a MuJoCo model whose joints and actuators carry the SO joint names."""

    joint_names: tuple[str, ...] = JOINT_NAMES

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, lock: threading.RLock) -> None:
        self.model, self.data, self.lock = model, data, lock
        self.qpos_adr = np.array([model.joint(n).qposadr[0] for n in self.joint_names])
        self.dof_adr = np.array([model.joint(n).dofadr[0] for n in self.joint_names])
        self.actuators = np.array([model.actuator(n).id for n in self.joint_names])
        self.ctrl_lower = model.actuator_ctrlrange[self.actuators, 0].copy()
        self.ctrl_upper = model.actuator_ctrlrange[self.actuators, 1].copy()
        self.max_force = np.abs(model.actuator_forcerange[self.actuators]).max(axis=1)
        self._gain = model.actuator_gainprm[self.actuators].copy()
        self._bias = model.actuator_biasprm[self.actuators].copy()
        self.torque_enabled = np.ones(len(self.joint_names), dtype=bool)
        self.goal_writes = 0  # calls of set_goal_positions so far: tells a fresh goal from an old one
        self.last_goals = np.full(len(self.joint_names), np.nan)

    def present_positions(self) -> np.ndarray:
        with self.lock:
            return self.data.qpos[self.qpos_adr].copy()

    def present_velocities(self) -> np.ndarray:
        with self.lock:
            return self.data.qvel[self.dof_adr].copy()

    def present_loads(self) -> np.ndarray:
        with self.lock:
            return np.clip(self.data.actuator_force[self.actuators] / self.max_force, -1.0, 1.0)

    def set_goal_positions(self, goals: np.ndarray, torque_enabled: np.ndarray) -> None:
        goals, enabled = goal_arrays(goals, torque_enabled, len(self.joint_names))
        with self.lock:
            for i, act in enumerate(self.actuators):
                if enabled[i] != self.torque_enabled[i]:
                    # Limp: no stiffness, no damping from the servo (the joint's own friction stays).
                    self.model.actuator_gainprm[act] = self._gain[i] if enabled[i] else 0.0
                    self.model.actuator_biasprm[act] = self._bias[i] if enabled[i] else 0.0
            self.torque_enabled = enabled.copy()
            self.goal_writes += 1
            self.last_goals = goals.copy()
            ok = enabled & np.isfinite(goals)
            self.data.ctrl[self.actuators[ok]] = np.clip(goals[ok], self.ctrl_lower[ok], self.ctrl_upper[ok])

    def hold(self, positions: np.ndarray) -> None:
        """Put the joints at ``positions`` at rest with the actuators aiming there (episode reset)."""
        with self.lock:
            self.data.qpos[self.qpos_adr] = positions
            self.data.qvel[self.dof_adr] = 0.0
            self.data.ctrl[self.actuators] = np.clip(positions, self.ctrl_lower, self.ctrl_upper)


class LeaderArmBackend:
    """An arm with no motors to speak of, moved by hand (by the scripted expert): a kinematic joint state."""

    joint_names: tuple[str, ...] = JOINT_NAMES

    def __init__(self, lower: np.ndarray, upper: np.ndarray, lock: threading.RLock) -> None:
        self.lower, self.upper, self.lock = np.asarray(lower, float), np.asarray(upper, float), lock
        n = len(self.joint_names)
        self._positions = np.zeros(n)
        self._velocities = np.zeros(n)
        self.torque_enabled = np.zeros(n, dtype=bool)

    def move_to(self, positions: np.ndarray, dt: float) -> None:
        """The hand moves the joints to ``positions`` over ``dt`` seconds (velocity = the difference / dt).

        Joints whose torque is enabled resist the hand and stay at their goal, like a real servo holding.
        """
        positions = np.clip(np.asarray(positions, dtype=float), self.lower, self.upper)
        with self.lock:
            positions = np.where(self.torque_enabled, self._positions, positions)
            self._velocities = (positions - self._positions) / dt if dt > 0 else np.zeros_like(positions)
            self._positions = positions

    def place(self, positions: np.ndarray) -> None:
        """Set the joints at rest (episode reset)."""
        with self.lock:
            self._positions = np.clip(np.asarray(positions, dtype=float), self.lower, self.upper)
            self._velocities = np.zeros_like(self._positions)

    def present_positions(self) -> np.ndarray:
        with self.lock:
            return self._positions.copy()

    def present_velocities(self) -> np.ndarray:
        with self.lock:
            return self._velocities.copy()

    def present_loads(self) -> np.ndarray:
        return np.zeros(len(self.joint_names))

    def set_goal_positions(self, goals: np.ndarray, torque_enabled: np.ndarray) -> None:
        goals, enabled = goal_arrays(goals, torque_enabled, len(self.joint_names))
        with self.lock:
            self.torque_enabled = enabled.copy()
            held = enabled & np.isfinite(goals)
            self._positions[held] = np.clip(goals[held], self.lower[held], self.upper[held])
