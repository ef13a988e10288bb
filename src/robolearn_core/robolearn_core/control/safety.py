"""What every joint goal passes before it reaches an arm: the joint limits and a step limit per tick.

Why here: the driver, teleop (and the executor) must never send a jump; a goal moves at most ``max_step``
per control tick from the last goal sent, inside the joint range. The executor's :class:`SafetyFilter`
adds NaN/inf rejection and a bounded-speed ramp at start and after a hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_core.calibration import ArmCalibration
from robolearn_core.so_arm.joints import LOWER, UPPER


def step_toward(current: np.ndarray, target: np.ndarray, max_step: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The next goal: ``target`` clamped to [lower, upper], at most ``max_step`` away from ``current``."""
    goal = np.clip(target, lower, upper)
    return current + np.clip(goal - current, -max_step, max_step)


@dataclass(frozen=True)
class SafetyReport:
    """What the filter did to one tick's setpoint (for /diagnostics)."""

    clamped: bool = False       # the setpoint was outside the joint limits
    step_limited: bool = False  # the step to it was longer than allowed (max_step, or the ramp's speed)
    ramping: bool = False       # moving from the measured position (or a hold) to the queue at ramp_speed
    rejected: bool = False      # NaN/inf setpoint: held the last command
    held: bool = False          # no command change: no setpoint (empty queue) or rejected


class SafetyFilter:
    """The executor's last gate each tick: joint limits, a step limit, NaN/inf rejection, and a start-up ramp.

    Why a ramp: the first setpoint of a policy can be far from where the arm is, and a full-speed jump at
    t=0 stripped an SO-101 gear (IsaacTeleop#730). So the first command after :meth:`restart` starts at the
    measured position and moves at most ``ramp_speed`` rad/s toward the setpoints until it reaches them;
    after a hold (no setpoint, or a rejected one) the same ramp runs from the held command, since the arm
    is there. Outside a ramp each command moves at most ``max_step`` rad per tick (``step_toward``).
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, max_step: float, ramp_speed: float, period: float) -> None:
        lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        if lower.shape != upper.shape or np.any(lower >= upper):
            raise ValueError(f'joint limits need lower < upper; got {lower.tolist()}, {upper.tolist()}')
        if not (max_step > 0 and ramp_speed > 0 and period > 0):
            raise ValueError(f'max_step, ramp_speed and period must be > 0; got {max_step}, {ramp_speed}, {period}')
        self.lower, self.upper = lower, upper
        self.max_step = max_step
        self.ramp_step = min(max_step, ramp_speed * period)
        self._last: np.ndarray | None = None
        self._ramping = True

    @classmethod
    def from_calibration(cls, calibration: ArmCalibration | None, max_step: float, ramp_speed: float,
                         period: float) -> SafetyFilter:
        """Limits from the arm's calibration (its calibrated range), or the SO-101 defaults without one."""
        lower, upper = calibration.limits_radians() if calibration is not None else (LOWER, UPPER)
        return cls(lower, upper, max_step, ramp_speed, period)

    @property
    def last_command(self) -> np.ndarray | None:
        return None if self._last is None else self._last.copy()

    def restart(self) -> None:
        """Start over from the measured position (start-up, a new episode, after torque was off)."""
        self._last = None
        self._ramping = True

    def command(self, setpoint: np.ndarray | None, measured: np.ndarray | None) -> tuple[np.ndarray | None, SafetyReport]:
        """The joint command for this tick, or None before anything is known (no command and no measurement)."""
        if self._last is None:
            if measured is None or not np.all(np.isfinite(measured)):
                return None, SafetyReport(held=True)
            self._last = np.clip(np.asarray(measured, dtype=np.float64), self.lower, self.upper)
            self._ramping = True
        if setpoint is None or not np.all(np.isfinite(setpoint)):
            self._ramping = True
            return self._last.copy(), SafetyReport(rejected=setpoint is not None, held=True)
        setpoint = np.asarray(setpoint, dtype=np.float64)
        clamped = bool(np.any(setpoint < self.lower) or np.any(setpoint > self.upper))
        step = self.ramp_step if self._ramping else self.max_step
        goal = step_toward(self._last, setpoint, step, self.lower, self.upper)
        step_limited = not np.allclose(goal, np.clip(setpoint, self.lower, self.upper), rtol=0, atol=1e-12)
        ramping = self._ramping
        self._ramping = ramping and step_limited
        self._last = goal
        return goal.copy(), SafetyReport(clamped=clamped, step_limited=step_limited, ramping=ramping)
