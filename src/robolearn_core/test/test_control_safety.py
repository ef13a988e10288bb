"""The per-tick step limit inside the joint range."""

import numpy as np

from robolearn_core.control.safety import step_toward


def test_step_toward_limits_step_and_range():
    lo, hi = np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    now = np.array([0.0, 0.5, 0.95])
    nxt = step_toward(now, np.array([0.02, -3.0, 5.0]), 0.1, lo, hi)
    np.testing.assert_allclose(nxt, [0.02, 0.4, 1.0])


def test_step_toward_passes_a_reachable_goal_unchanged():
    now = np.array([0.1, -0.2, 0.3])
    goal = now + np.array([0.04, -0.05, 0.0])
    np.testing.assert_array_equal(step_toward(now, goal, 0.05, np.full(3, -1.0), np.full(3, 1.0)), goal)
