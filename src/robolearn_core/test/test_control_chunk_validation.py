"""Every reason the executor refuses a chunk, each named in the message."""

import numpy as np
import pytest

from robolearn_core.control.chunk_validation import ChunkRejected, validate_chunk
from robolearn_core.so_arm.joints import JOINT_NAMES, UPPER

NOW = 100.0


def points(n: int = 3) -> list[list[float]]:
    return [[0.01 * i] * 6 for i in range(n)]


def times(n: int = 3) -> list[float]:
    return [i / 30 for i in range(n)]


def check(**changes):
    args = dict(joint_names=list(JOINT_NAMES), positions=points(), time_from_start=times(), stamp=NOW - 0.05, now=NOW)
    args.update(changes)
    return validate_chunk(**args)


def test_a_good_chunk_comes_back_in_joint_order():
    names = list(reversed(JOINT_NAMES))
    rows = [[float(j) / 10 for j in range(6)]] * 2
    c = check(joint_names=names, positions=rows, time_from_start=times(2))
    np.testing.assert_allclose(c.positions[0], [0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    assert c.stamp == NOW - 0.05 and len(c) == 2


@pytest.mark.parametrize('changes, reason', [
    ({'positions': [], 'time_from_start': []}, 'no points'),
    ({'joint_names': []}, 'names no joints'),
    ({'joint_names': [*JOINT_NAMES[:5], 'elbow']}, "unknown joint names \\['elbow'\\]"),
    ({'joint_names': list(JOINT_NAMES[:5]), 'positions': [[0.0] * 5] * 3}, "lack \\['gripper'\\]"),
    ({'positions': [[0.0] * 6, [0.0, np.nan, 0, 0, 0, 0], [0.0] * 6]}, 'non-finite positions'),
    ({'positions': [[0.0] * 6, [np.inf] * 6, [0.0] * 6]}, 'non-finite positions'),
    ({'time_from_start': [0.0, 0.1, 0.1]}, 'increase strictly'),
    ({'time_from_start': [0.0, 0.2, 0.1]}, 'increase strictly'),
    ({'time_from_start': [0.0, 0.1]}, '2 times for 3 points'),
    ({'stamp': NOW + 0.5}, 'in the future'),
    ({'stamp': NOW - 5.0}, 'old .*stale policy'),
    ({'positions': [[0.0] * 6, [0.0, UPPER[1] + 0.5, 0, 0, 0, 0], [0.0] * 6]}, 'point 1 puts shoulder_lift .* outside'),
])
def test_each_bad_chunk_is_refused_with_its_reason(changes, reason):
    with pytest.raises(ChunkRejected, match=reason):
        check(**changes)


def test_a_setpoint_a_little_past_a_limit_is_clamped_one_far_past_refused():
    """A learned policy overshoots a limit its demonstrations touch: clamped; beyond the tolerance: refused."""
    rows = [[0.0] * 6, [0.0, UPPER[1] + 0.05, 0, 0, 0, 0]]
    chunk = check(positions=rows, time_from_start=times(2))
    assert chunk.positions[1, 1] == UPPER[1]
    with pytest.raises(ChunkRejected, match='shoulder_lift .* by more than the 0.02 rad tolerance'):
        check(positions=rows, time_from_start=times(2), limit_tolerance=0.02)


def test_a_stamp_within_the_tolerances_passes():
    check(stamp=NOW + 0.01)
    check(stamp=NOW - 0.9)
    check(stamp=NOW - 1.5, max_age=2.0)


def test_a_jump_faster_than_max_speed_is_refused():
    rows = [[0.0] * 6, [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]]
    check(positions=rows, time_from_start=times(2))  # no speed limit by default
    with pytest.raises(ChunkRejected, match='points 0-1 move elbow_flex at 15.00 rad/s'):
        check(positions=rows, time_from_start=times(2), max_speed=5.0)
