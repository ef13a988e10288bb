"""Safety limits on joint commands: joint ranges, a maximum step per tick, and no NaN ever sent.

Why here (plain Python): the teleop node applies it to the leader's joints before they reach the
follower; the executor can apply the same rules to a policy's setpoints. Radians, SO joint order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: SO-101 joint ranges (rad) with zero at the middle of the calibrated range, as in the SO-101 URDF.
SO101_LOWER = np.array([-1.91986, -1.74533, -1.69, -1.65806, -2.74385, -0.17453])
SO101_UPPER = np.array([1.91986, 1.74533, 1.69, 1.65806, 2.84121, 1.74533])


@dataclass
class JointCommandLimits:
    """Clamps each command into [lower, upper] and to at most ``max_step`` rad away from the last one sent."""

    lower: np.ndarray = field(default_factory=lambda: SO101_LOWER.copy())
    upper: np.ndarray = field(default_factory=lambda: SO101_UPPER.copy())
    max_step: float = 0.1  # rad per tick: 5 rad/s at 50 Hz
    last: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.lower, self.upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if self.lower.shape != self.upper.shape or np.any(self.lower >= self.upper):
            raise ValueError(f'joint limits need lower < upper, same length; got {self.lower} and {self.upper}')
        if not self.max_step > 0:
            raise ValueError(f'max_step must be > 0 rad, got {self.max_step}')

    def apply(self, command: np.ndarray) -> tuple[np.ndarray | None, list[str]]:
        """The command to send (None: nothing safe to send yet) and what was limited, for diagnostics."""
        command = np.asarray(command, dtype=float)
        problems = []
        if command.shape != self.lower.shape:
            return self.last, [f'command has {command.size} joints, expected {self.lower.size}']
        if not np.all(np.isfinite(command)):
            problems.append('non-finite joint command replaced by the last one')
            if self.last is None:
                return None, problems
            command = np.where(np.isfinite(command), command, self.last)
        clamped = np.clip(command, self.lower, self.upper)
        if np.any(clamped != command):
            problems.append('joint command clamped to the joint limits')
        if self.last is not None:
            step = np.clip(clamped - self.last, -self.max_step, self.max_step)
            if np.any(step != clamped - self.last):
                problems.append(f'joint command step limited to {self.max_step} rad')
            clamped = self.last + step
        self.last = clamped
        return clamped.copy(), problems
