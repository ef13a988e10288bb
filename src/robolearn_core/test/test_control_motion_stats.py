"""Motion quality: a jump at a switch stands out against the motion between switches; jerk and holding."""

import numpy as np
import pytest

from robolearn_core.control.motion_stats import MotionStats


def test_switch_jumps_are_told_apart_from_the_motion():
    m = MotionStats(period=0.02)
    for k in range(20):
        m.add(np.full(6, 0.01 * k))                      # 0.01 rad a tick
    m.add(np.full(6, 0.19 + 0.05), switched=True)         # a new chunk 0.04 rad off the plan
    s = m.summary()
    assert s['max_step_rad'] == pytest.approx(0.01) and s['max_switch_jump_rad'] == pytest.approx(0.05)


def test_constant_speed_has_no_jerk_and_holding_is_counted():
    m = MotionStats(period=0.02)
    for k in range(10):
        m.add(np.full(6, 0.01 * k), held=k >= 8)
    s = m.summary()
    assert s['rms_jerk'] == pytest.approx(0.0, abs=1e-6) and s['held_fraction'] == pytest.approx(0.2)
    m.add(np.full(6, 0.5))                                # a kick: third difference 1/period^3 scale
    assert m.summary()['rms_jerk'] > 1000


def test_what_a_switch_added_is_told_apart_from_the_plans_own_motion():
    m = MotionStats(period=0.02)
    for k in range(10):
        m.add(np.full(6, 0.08 * k))                      # a fast plan: 0.08 rad a tick
    m.add(np.full(6, 0.80), switched=True, own_step=np.full(6, 0.08))   # the switch continues it
    m.add(np.full(6, 0.95), switched=True, own_step=np.full(6, 0.08))   # this one adds 0.07 rad
    s = m.summary()
    assert s['max_switch_jump_rad'] == pytest.approx(0.15) and s['max_switch_added_rad'] == pytest.approx(0.07)


def test_a_chunks_own_step_is_scaled_to_one_executor_tick():
    from robolearn_core.control.motion_stats import chunk_step_per_tick

    positions = np.array([[0.0, 0.0], [0.1, -0.02], [0.15, -0.05]])   # 0.1 rad in one 30 fps step at most
    assert chunk_step_per_tick(positions, spacing=1 / 30, period=0.02) == pytest.approx(0.06)
