"""How smoothly the commands an arm received moved: jumps at chunk switches, jerk, time held.

Why one module: the executor reports these on /diagnostics, ``bench/executor.py`` compares loops with
them, and ``evaluate`` grades policies with them; all three must measure the same thing. A "switch jump"
is the largest joint step of the first command after a new chunk took over; it is compared with the
policy's own step-to-step motion (the largest step between switches), so a number says whether a switch
added a discontinuity on top of the motion the policy asked for.

A largest step alone cannot say that where the policy itself moves fast or unevenly (a flow chunk can step
0.1 rad between two of its own points, and a switch that lands there is that large without any seam). So
the executor also gives, at a switch, the step the plan it replaced would have taken at that tick and the
new chunk's own step there (``own_step``, per joint); ``max_switch_added_rad`` is the most any switch
stepped beyond the larger of the two: what the switch itself added.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def chunk_step_per_tick(positions: np.ndarray, spacing: float, period: float) -> float:
    """A chunk's largest setpoint-to-setpoint motion scaled to one executor tick: the policy's own speed, the
    yardstick for a switch's step (the benches' ``policy_step_rad``)."""
    return float(np.abs(np.diff(positions, axis=0)).max() * period / spacing)


class MotionStats:
    """Commands at a fixed period, as they were sent; ``switched`` marks the first command of a new chunk."""

    def __init__(self, period: float, window: int = 3000) -> None:
        self.period = period
        self._recent: deque[np.ndarray] = deque(maxlen=4)  # for steps and the third difference
        self.switch_steps: deque[float] = deque(maxlen=window)
        self.switch_added: deque[float] = deque(maxlen=window)
        self.steps: deque[float] = deque(maxlen=window)
        self.jerk_sq: deque[float] = deque(maxlen=window)
        self.commands = 0
        self.held = 0

    def add(self, command: np.ndarray | None, switched: bool = False, held: bool = False,
            own_step: np.ndarray | None = None) -> None:
        """One tick: the command sent (None: nothing sent yet); ``held``: the queue had no setpoint; ``own_step``
        (a switch that replaced a plan): per joint, the larger of the replaced plan's and the new chunk's own
        step at this tick (None: nothing was replaced, as at start, where the safety filter's ramp rules)."""
        if command is None:
            return
        self.commands += 1
        self.held += int(held)
        command = np.asarray(command, dtype=np.float64)
        if self._recent:
            steps = np.abs(command - self._recent[-1])
            (self.switch_steps if switched else self.steps).append(float(np.max(steps)))
            if switched and own_step is not None:
                self.switch_added.append(float(max(0.0, np.max(steps - np.asarray(own_step, dtype=np.float64)))))
        self._recent.append(command)
        if len(self._recent) == 4:
            c0, c1, c2, c3 = self._recent
            jerk = (c3 - 3 * c2 + 3 * c1 - c0) / self.period ** 3
            self.jerk_sq.append(float(np.mean(jerk ** 2)))

    def summary(self) -> dict[str, float]:
        """max_switch_jump_rad, max_switch_added_rad, max_step_rad (between switches), rms_jerk (rad/s^3),
        held_fraction."""
        return {
            'max_switch_jump_rad': max(self.switch_steps, default=0.0),
            'max_switch_added_rad': max(self.switch_added, default=0.0),
            'max_step_rad': max(self.steps, default=0.0),
            'rms_jerk': float(np.sqrt(np.mean(self.jerk_sq))) if self.jerk_sq else 0.0,
            'held_fraction': self.held / self.commands if self.commands else 0.0,
        }
