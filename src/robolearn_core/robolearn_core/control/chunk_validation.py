"""Check an incoming chunk message before it reaches the queue; a bad chunk is refused with one clear reason.

Why here and not in the node: the executor must refuse the same malformed chunks whatever transport
brought them, and each reason is tested once, in plain Python. The node passes the message's fields
(joint names, per-point positions and time_from_start in seconds, the header stamp) and its clock.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robolearn_core.control.chunk import Chunk
from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER, JointMessageError, positions_by_name


class ChunkRejected(ValueError):
    """A chunk the executor will not play; the text says why (it goes to the log), ``kind`` names the check
    that failed (diagnostics count rejections by kind)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def validate_chunk(joint_names: Sequence[str], positions: Sequence[Sequence[float]], time_from_start: Sequence[float],
                   stamp: float, now: float, *, max_age: float = 1.0, max_future: float = 0.05,
                   lower: np.ndarray = LOWER, upper: np.ndarray = UPPER, limit_tolerance: float = 0.1,
                   max_speed: float | None = None, joint_order: Sequence[str] = JOINT_NAMES) -> Chunk:
    """The chunk as a :class:`Chunk` in ``joint_order``, or :class:`ChunkRejected` naming what is wrong.

    Refused: no points; unnamed, unknown, repeated or missing joints; NaN/inf; time_from_start not
    strictly increasing; a stamp more than ``max_future`` s ahead of ``now`` (clocks of two machines
    disagree) or more than ``max_age`` s behind it (a stale policy); a setpoint outside the joint limits
    by more than ``limit_tolerance`` rad (a policy that jumps beyond the arm's range is broken, not clamped);
    with ``max_speed`` (rad/s), two neighbouring setpoints further apart than that speed allows.

    Setpoints past a limit by less than ``limit_tolerance`` are clamped to it, as the servos' own position
    limits would: a policy trained on demonstrations that touch a limit overshoots it a little (measured:
    an ACT checkpoint put wrist_flex 0.02 rad past its 1.660 rad limit in every chunk of one episode; refused
    whole, the arm held for the 30 s of that episode while the policy kept answering with the same chunk).
    """
    if len(positions) == 0:
        raise ChunkRejected('no points', 'chunk has no points')
    if len(joint_names) == 0:
        raise ChunkRejected('joint names', f'chunk names no joints; expected {list(joint_order)}')
    if len(time_from_start) != len(positions):
        raise ChunkRejected('times', f'{len(time_from_start)} times for {len(positions)} points')
    try:
        rows = np.stack([positions_by_name(joint_names, p, joint_order) for p in positions])
    except JointMessageError as err:
        raise ChunkRejected('non-finite' if 'non-finite' in str(err) else 'joint names', str(err)) from None
    times = np.asarray(time_from_start, dtype=np.float64)
    if not np.all(np.isfinite(times)) or not np.isfinite(stamp):
        raise ChunkRejected('times', 'non-finite stamp or time_from_start')
    if np.any(np.diff(times) <= 0):
        raise ChunkRejected('times', f'time_from_start must increase strictly; got {np.round(times, 4).tolist()}')
    if stamp > now + max_future:
        raise ChunkRejected(
            'stamp in the future',
            f'stamp is {stamp - now:.3f} s in the future (tolerance {max_future} s): are the clocks '
            f'of the policy and executor machines synchronised?',
        )
    if stamp < now - max_age:
        raise ChunkRejected('stamp too old', f'stamp is {now - stamp:.3f} s old (limit {max_age} s): stale policy')
    below = rows < np.asarray(lower) - limit_tolerance
    above = rows > np.asarray(upper) + limit_tolerance
    if below.any() or above.any():
        point, joint = np.argwhere(below | above)[0]
        raise ChunkRejected(
            'outside joint limits',
            f'point {point} puts {joint_order[joint]} at {rows[point, joint]:.3f} rad, outside its '
            f'limits [{lower[joint]:.3f}, {upper[joint]:.3f}] by more than the {limit_tolerance:g} rad tolerance',
        )
    rows = np.clip(rows, lower, upper)
    if max_speed is not None and len(times) > 1:
        speed = np.abs(np.diff(rows, axis=0)) / np.diff(times)[:, None]
        if speed.max() > max_speed:
            point, joint = np.unravel_index(np.argmax(speed), speed.shape)
            raise ChunkRejected(
                'too fast',
                f'points {point}-{point + 1} move {joint_order[joint]} at {speed[point, joint]:.2f} rad/s '
                f'(limit {max_speed} rad/s)',
            )
    return Chunk(stamp, times, rows)
