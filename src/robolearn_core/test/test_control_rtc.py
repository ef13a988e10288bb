"""The rtc prefix: the pending setpoints on the new chunk's grid, frozen over the delay, then decaying."""

import numpy as np
import pytest

from robolearn_core.control.rtc import frozen_steps, rtc_prefix, soft_mask_weights


def test_soft_mask_is_one_then_decays_to_near_zero():
    w = soft_mask_weights(10, 3)
    np.testing.assert_array_equal(w[:3], 1.0)
    assert np.all(np.diff(w[2:]) < 0) and 0 < w[-1] < 0.1 and w[3] < 1.0
    # the paper's c (e^c - 1) / (e - 1), c = (k - i) / (k - d + 1)
    c = (10 - 5) / (10 - 3 + 1)
    assert w[5] == pytest.approx(c * (np.exp(c) - 1) / (np.e - 1))
    np.testing.assert_array_equal(soft_mask_weights(4, 9), 1.0)


def test_frozen_steps_cover_the_delay_and_the_point_after_it():
    grid = 5.0 + np.arange(16) / 30
    assert frozen_steps(grid, 0.0) == 1
    assert frozen_steps(grid, 2 / 30) == 3       # switch exactly on point 2
    assert frozen_steps(grid, 2.3 / 30) == 4     # switch between points 2 and 3: both frozen


def test_prefix_resamples_pending_setpoints_onto_the_policy_grid():
    # pending setpoints on the executor's times (every 20 ms), a straight line per joint
    pending_t = 10.0 + np.arange(0, 11) * 0.02            # 10.00 .. 10.20
    pending = np.stack([pending_t - 10.0, 2 * (pending_t - 10.0)], axis=1)
    grid = 9.99 + np.arange(16) / 30                      # the observation 10 ms before the request
    prefix, weights = rtc_prefix(pending_t, pending, grid, delay=0.1)
    k = int(np.sum(grid <= 10.2 + 1e-9))
    assert prefix.shape == (k, 2) and weights.shape == (k,)
    np.testing.assert_allclose(prefix[1:, 0], grid[1:k] - 10.0, atol=1e-12)
    np.testing.assert_allclose(prefix[0], pending[0])     # before the first pending setpoint: held there
    assert np.all(weights[:frozen_steps(grid, 0.1)] == 1.0) and weights[-1] < 1.0


def test_nothing_pending_gives_an_empty_prefix():
    prefix, weights = rtc_prefix(np.zeros(0), np.zeros((0, 6)), np.arange(16) / 30, delay=0.1)
    assert prefix.shape == (0, 6) and weights.shape == (0,)
