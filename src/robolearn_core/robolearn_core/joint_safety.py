"""Checks every joint command passes before it reaches an arm: shape, names, finiteness, limits, step.

Why here: the driver (and the executor) must reject the same malformed commands the same way, and the
arm must never jump: a goal moves at most ``max_step`` per control tick from the last goal sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


#: SO-101 joint ranges (rad, SO joint order) with zero at the middle of the calibrated range, as in the
#: SO-101 URDF: the limits a node applies when it has no calibration of its own (e.g. teleop).
SO101_LOWER = np.array([-1.91986, -1.74533, -1.69, -1.65806, -2.74385, -0.17453])
SO101_UPPER = np.array([1.91986, 1.74533, 1.69, 1.65806, 2.84121, 1.74533])


class CommandRejected(ValueError):
    """A joint command that cannot be applied; the message says what is wrong with it."""


def order_command(names: Sequence[str], positions: Sequence[float], joint_names: Sequence[str]) -> np.ndarray:
    """Positions of ``joint_names`` from a (names, positions) command; names may come in any order.

    An empty ``names`` means ``positions`` are already in ``joint_names`` order. Raises CommandRejected
    for unknown, repeated or missing names, a wrong length, or a NaN/inf value.
    """
    positions = np.asarray(positions, dtype=np.float64)
    n = len(joint_names)
    if names:
        unknown = [x for x in names if x not in joint_names]
        if unknown:
            raise CommandRejected(f'unknown joint names {unknown}; expected {list(joint_names)}')
        if len(set(names)) != len(names):
            raise CommandRejected(f'repeated joint names in {list(names)}')
        if len(names) != n:
            raise CommandRejected(f'{len(names)} joint names; a command must name all {n}: {list(joint_names)}')
        if len(positions) != len(names):
            raise CommandRejected(f'{len(positions)} positions for {len(names)} names')
        positions = positions[[list(names).index(j) for j in joint_names]]
    elif positions.shape != (n,):
        raise CommandRejected(f'{positions.size} positions without names; expected {n} in the order {list(joint_names)}')
    if not np.all(np.isfinite(positions)):
        bad = [joint_names[i] for i in np.flatnonzero(~np.isfinite(positions))]
        raise CommandRejected(f'non-finite positions (NaN/inf) for {bad}')
    return positions


def step_toward(current: np.ndarray, target: np.ndarray, max_step: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The next goal: ``target`` clamped to [lower, upper], at most ``max_step`` away from ``current``."""
    goal = np.clip(target, lower, upper)
    return current + np.clip(goal - current, -max_step, max_step)
