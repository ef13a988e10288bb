"""What every joint goal passes before it reaches an arm: the joint limits and a step limit per tick.

Why here: the driver, teleop (and the executor) must never send a jump; a goal moves at most ``max_step``
per control tick from the last goal sent, inside the joint range.
"""

from __future__ import annotations

import numpy as np


def step_toward(current: np.ndarray, target: np.ndarray, max_step: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The next goal: ``target`` clamped to [lower, upper], at most ``max_step`` away from ``current``."""
    goal = np.clip(target, lower, upper)
    return current + np.clip(goal - current, -max_step, max_step)
