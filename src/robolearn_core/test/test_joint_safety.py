"""Command validation and the per-tick step limit."""

import numpy as np
import pytest

from robolearn_core.joint_safety import CommandRejected, order_command, step_toward

NAMES = ('a', 'b', 'c')


def test_orders_named_commands_and_accepts_unnamed_in_order():
    np.testing.assert_array_equal(order_command(['c', 'a', 'b'], [3.0, 1.0, 2.0], NAMES), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(order_command([], [1.0, 2.0, 3.0], NAMES), [1.0, 2.0, 3.0])


@pytest.mark.parametrize('names,positions,message', [
    (['a', 'b', 'x'], [1, 2, 3], "unknown joint names \\['x'\\]"),
    (['a', 'a', 'b'], [1, 2, 3], 'repeated'),
    (['a', 'b'], [1, 2], 'must name all 3'),
    (['a', 'b', 'c'], [1, 2], '2 positions for 3 names'),
    ([], [1, 2], 'without names'),
    (['a', 'b', 'c'], [1, float('nan'), 3], "non-finite .*\\['b'\\]"),
    ([], [float('-inf'), 2, 3], "non-finite .*\\['a'\\]"),
])
def test_malformed_commands_are_rejected_with_the_reason(names, positions, message):
    with pytest.raises(CommandRejected, match=message):
        order_command(names, positions, NAMES)


def test_step_toward_limits_step_and_range():
    lo, hi = np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    now = np.array([0.0, 0.5, 0.95])
    nxt = step_toward(now, np.array([0.02, -3.0, 5.0]), 0.1, lo, hi)
    np.testing.assert_allclose(nxt, [0.02, 0.4, 1.0])


def test_step_toward_passes_a_reachable_goal_unchanged():
    now = np.array([0.1, -0.2, 0.3])
    goal = now + np.array([0.04, -0.05, 0.0])
    np.testing.assert_array_equal(step_toward(now, goal, 0.05, np.full(3, -1.0), np.full(3, 1.0)), goal)


def test_so101_limits_surround_the_urdf_zero():
    from robolearn_core.joint_safety import SO101_LOWER, SO101_UPPER
    assert SO101_LOWER.shape == SO101_UPPER.shape == (6,)
    assert np.all(SO101_LOWER < 0.0) and np.all(SO101_UPPER > 0.0)
