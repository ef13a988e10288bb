"""The seam between a simulated servo bus and whatever moves its joints.

Why a seam: the simulated Feetech bus (byte-exact, on a pseudo-terminal) must not know whether its joints
are a first-order lag model (tests), a MuJoCo arm (the simulated world) or an invisible leader arm moved
by a scripted expert. The bus speaks ticks and registers; a backend speaks joint radians (REP 103, zero
at the SO-101 URDF zero, gripper as a joint angle). The bus owns the tick <-> radian mapping of its
simulated servos, like a real arm's mounting.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class JointBackend(Protocol):
    """Joint state and goals of one simulated arm, in radians, indexed like ``joint_names``."""

    joint_names: tuple[str, ...]

    def present_positions(self) -> np.ndarray:
        """(n,) joint angles now, rad."""
        ...

    def present_velocities(self) -> np.ndarray:
        """(n,) joint velocities now, rad/s."""
        ...

    def present_loads(self) -> np.ndarray:
        """(n,) load as a fraction of the servo's maximum torque, -1..1."""
        ...

    def set_goal_positions(self, goals: np.ndarray, torque_enabled: np.ndarray) -> None:
        """Goals (n,) rad for the joints whose torque is enabled (bool (n,)); the others go limp."""
        ...


def goal_arrays(goals: np.ndarray, torque_enabled: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``set_goal_positions``'s arguments as float and bool arrays, refused unless both have shape (n,)."""
    goals = np.asarray(goals, dtype=float)
    enabled = np.asarray(torque_enabled, dtype=bool)
    if goals.shape != (n,) or enabled.shape != goals.shape:
        raise ValueError(f'goals and torque_enabled must have shape ({n},)')
    return goals, enabled
