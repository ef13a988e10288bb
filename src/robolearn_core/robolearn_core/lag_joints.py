"""A first-order-lag JointBackend: joints approach their goal with time constant ``tau``, evaluated lazily.

Why: the simulated bus needs something that moves like a position-controlled servo without a physics
engine (tests, benchmarks, the calibrate command's end-to-end test, an invisible leader arm). Time is
``time.monotonic()`` and state advances when it is read, so no thread is needed. Joints whose torque is
off are limp: they stay where they are until ``move_to`` (a hand moving the arm) puts them elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from robolearn_core.so_arm.joints import JOINT_NAMES


class FirstOrderLagJoints:
    """JointBackend: d(position)/dt = (goal - position) / tau for torque-enabled joints."""

    def __init__(
        self,
        tau_s: float = 0.05,
        initial: np.ndarray | None = None,
        joint_names: tuple[str, ...] = JOINT_NAMES,
        history: int = 4096,
    ) -> None:
        if tau_s <= 0:
            raise ValueError(f'tau_s must be > 0, got {tau_s}')
        self.joint_names = tuple(joint_names)
        n = len(self.joint_names)
        self.tau_s = tau_s
        self._pos = np.zeros(n) if initial is None else np.array(initial, dtype=np.float64)
        if self._pos.shape != (n,):
            raise ValueError(f'initial positions must have shape ({n},), got {self._pos.shape}')
        self._goal = self._pos.copy()
        self._torque = np.zeros(n, dtype=bool)
        self._t = time.monotonic()
        self._lock = threading.Lock()
        #: (monotonic time, goals, torque mask) of every set_goal_positions call, newest last.
        self.goal_log: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=history)

    def _advance(self) -> None:
        now = time.monotonic()
        decay = np.exp(-(now - self._t) / self.tau_s)
        self._pos = np.where(self._torque, self._goal + (self._pos - self._goal) * decay, self._pos)
        self._t = now

    def present_positions(self) -> np.ndarray:
        with self._lock:
            self._advance()
            return self._pos.copy()

    def present_velocities(self) -> np.ndarray:
        with self._lock:
            self._advance()
            return np.where(self._torque, (self._goal - self._pos) / self.tau_s, 0.0)

    def present_loads(self) -> np.ndarray:
        """A stand-in for load: the position error relative to 0.5 rad, clipped to -1..1."""
        with self._lock:
            self._advance()
            return np.where(self._torque, np.clip((self._goal - self._pos) / 0.5, -1.0, 1.0), 0.0)

    def set_goal_positions(self, goals: np.ndarray, torque_enabled: np.ndarray) -> None:
        goals = np.asarray(goals, dtype=np.float64)
        torque = np.asarray(torque_enabled, dtype=bool)
        with self._lock:
            self._advance()
            self._goal = np.where(torque, goals, self._pos)
            self._torque = torque.copy()
            self.goal_log.append((self._t, self._goal.copy(), self._torque.copy()))

    def move_to(self, positions: np.ndarray) -> None:
        """Put the joints somewhere (a person moving a limp arm; a torque-enabled joint returns to its goal)."""
        with self._lock:
            self._advance()
            self._pos = np.array(positions, dtype=np.float64)

    def torque_enabled(self) -> np.ndarray:
        with self._lock:
            return self._torque.copy()
