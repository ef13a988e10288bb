"""The six SO joints: names, limits, and positions picked out of a message by joint name.

Why one function for names: the driver, teleop, the recorder, ``dataset from-bag`` and the policy node all
receive ``(names, positions)`` pairs whose order is the sender's; each must map them onto the arm's joints
the same way and reject the same malformed messages with the same reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The six SO-100/SO-101 joints, in servo-ID order (IDs 1..6), as LeRobot names them.
JOINT_NAMES: tuple[str, ...] = (
    'shoulder_pan',
    'shoulder_lift',
    'elbow_flex',
    'wrist_flex',
    'wrist_roll',
    'gripper',
)

#: SO-101 joint ranges (rad, JOINT_NAMES order) with zero at the middle of the calibrated range, as in the
#: SO-101 URDF: the limits a node applies when it has no calibration of its own (e.g. teleop).
LOWER = np.array([-1.91986, -1.74533, -1.69, -1.65806, -2.74385, -0.17453])
UPPER = np.array([1.91986, 1.74533, 1.69, 1.65806, 2.84121, 1.74533])


class JointMessageError(ValueError):
    """A (names, positions) message that cannot be mapped onto the arm's joints; the text says why."""


def positions_by_name(names: Sequence[str], positions: Sequence[float], joint_names: Sequence[str] = JOINT_NAMES,
                      allow_extra: bool = False) -> np.ndarray:
    """Positions of ``joint_names`` (float64, in that order) from a message's names and positions.

    An empty ``names`` means ``positions`` are already in ``joint_names`` order. ``allow_extra`` accepts
    names beyond ``joint_names`` (a state message of a larger robot); a command must name exactly the
    arm's joints. Raises JointMessageError for unknown (unless allowed), repeated or missing names, a wrong
    length, or a NaN/inf value.
    """
    positions = np.asarray(positions, dtype=np.float64)
    names = list(names)
    n = len(joint_names)
    if names:
        unknown = [x for x in names if x not in joint_names]
        if unknown and not allow_extra:
            raise JointMessageError(f'unknown joint names {unknown}; expected {list(joint_names)}')
        if len(set(names)) != len(names):
            raise JointMessageError(f'repeated joint names in {names}')
        missing = [j for j in joint_names if j not in names]
        if missing:
            raise JointMessageError(f'joint names {names} lack {missing}; a message must name all {n}: '
                                    f'{list(joint_names)}')
        if len(positions) != len(names):
            raise JointMessageError(f'{len(positions)} positions for {len(names)} names')
        positions = positions[[names.index(j) for j in joint_names]]
    elif positions.shape != (n,):
        raise JointMessageError(f'{positions.size} positions without names; expected {n} in the order '
                                f'{list(joint_names)}')
    if not np.all(np.isfinite(positions)):
        bad = [joint_names[i] for i in np.flatnonzero(~np.isfinite(positions))]
        raise JointMessageError(f'non-finite positions (NaN/inf) for {bad}')
    return positions
