"""Positions by joint name: every node maps (names, positions) messages onto the arm the same way."""

import numpy as np
import pytest

from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER, JointMessageError, positions_by_name

NAMES = ('a', 'b', 'c')


def test_orders_named_messages_and_accepts_unnamed_in_order():
    np.testing.assert_array_equal(positions_by_name(['c', 'a', 'b'], [3.0, 1.0, 2.0], NAMES), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(positions_by_name([], [1.0, 2.0, 3.0], NAMES), [1.0, 2.0, 3.0])


def test_extra_names_only_where_allowed():
    message = (['x', 'c', 'a', 'b'], [9.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(positions_by_name(*message, NAMES, allow_extra=True), [1.0, 2.0, 3.0])
    with pytest.raises(JointMessageError, match="unknown joint names \\['x'\\]"):
        positions_by_name(*message, NAMES)


@pytest.mark.parametrize('names,positions,message', [
    (['a', 'b', 'x'], [1, 2, 3], "unknown joint names \\['x'\\]"),
    (['a', 'a', 'b'], [1, 2, 3], 'repeated'),
    (['a', 'b'], [1, 2], "lack \\['c'\\]; a message must name all 3"),
    (['a', 'b', 'c'], [1, 2], '2 positions for 3 names'),
    ([], [1, 2], 'without names'),
    (['a', 'b', 'c'], [1, float('nan'), 3], "non-finite .*\\['b'\\]"),
    ([], [float('-inf'), 2, 3], "non-finite .*\\['a'\\]"),
])
def test_malformed_messages_are_rejected_with_the_reason(names, positions, message):
    with pytest.raises(JointMessageError, match=message):
        positions_by_name(names, positions, NAMES)


def test_so101_limits_surround_the_urdf_zero():
    assert len(JOINT_NAMES) == LOWER.shape[0] == UPPER.shape[0] == 6
    assert np.all(LOWER < 0.0) and np.all(UPPER > 0.0)
