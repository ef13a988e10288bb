"""The per-tick step limit inside the joint range, and the executor's safety filter (NaN, limits, start-up ramp)."""

import numpy as np
import pytest

from robolearn_core.control.safety import SafetyFilter, step_toward


def test_step_toward_limits_step_and_range():
    lo, hi = np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    now = np.array([0.0, 0.5, 0.95])
    nxt = step_toward(now, np.array([0.02, -3.0, 5.0]), 0.1, lo, hi)
    np.testing.assert_allclose(nxt, [0.02, 0.4, 1.0])


def test_step_toward_passes_a_reachable_goal_unchanged():
    now = np.array([0.1, -0.2, 0.3])
    goal = now + np.array([0.04, -0.05, 0.0])
    np.testing.assert_array_equal(step_toward(now, goal, 0.05, np.full(3, -1.0), np.full(3, 1.0)), goal)


LO, HI = np.full(2, -1.0), np.full(2, 1.0)
PERIOD = 0.02


def safety(**kw) -> SafetyFilter:
    args = dict(lower=LO, upper=HI, max_step=0.05, ramp_speed=0.5, period=PERIOD)
    args.update(kw)
    return SafetyFilter(**args)


def test_first_command_starts_at_the_measured_position_and_ramps_at_bounded_speed():
    f = safety()
    measured = np.array([0.0, 0.5])
    setpoint = np.array([0.8, 0.5])
    cmd, report = f.command(setpoint, measured)
    assert report.ramping and report.step_limited
    np.testing.assert_allclose(cmd, [0.01, 0.5])  # 0.5 rad/s * 20 ms, not a jump to 0.8
    ticks = 1
    while report.ramping:
        cmd, report = f.command(setpoint, measured)
        ticks += 1
        assert np.all(np.abs(cmd - measured) <= 0.01 * ticks + 1e-12)
    assert ticks == 80 + 1 and np.allclose(cmd, setpoint)  # 0.8 rad at 0.01 rad a tick, then the tick that arrived
    cmd, report = f.command(setpoint + [0.2, 0.0], measured)  # ramp over: max_step per tick
    assert report.step_limited and not report.ramping
    np.testing.assert_allclose(cmd, [0.85, 0.5])


def test_nothing_to_command_before_a_measurement():
    cmd, report = safety().command(np.zeros(2), None)
    assert cmd is None and report.held


def test_nan_setpoint_is_rejected_and_held_and_then_ramps_again():
    f = safety()
    f.command(np.zeros(2), np.zeros(2))
    cmd, report = f.command(np.array([np.nan, 0.0]), np.zeros(2))
    assert report.rejected and report.held
    np.testing.assert_array_equal(cmd, [0.0, 0.0])
    cmd, report = f.command(np.array([np.inf, 0.0]), np.zeros(2))
    assert report.rejected
    cmd, report = f.command(None, np.zeros(2))  # empty queue: hold, not a rejection
    assert report.held and not report.rejected
    cmd, report = f.command(np.array([0.5, 0.0]), np.zeros(2))
    assert report.ramping
    np.testing.assert_allclose(cmd, [0.01, 0.0])


def test_limits_clamp_and_restart_ramps_from_the_new_measurement():
    f = safety(max_step=10.0, ramp_speed=1000.0)
    cmd, report = f.command(np.array([3.0, -3.0]), np.zeros(2))
    assert report.clamped
    np.testing.assert_array_equal(cmd, [1.0, -1.0])
    f.restart()
    cmd, report = safety().command(np.array([0.9, 0.0]), np.array([0.5, 0.0]))
    np.testing.assert_allclose(cmd, [0.51, 0.0])


def test_limits_from_a_calibration():
    from robolearn_core.calibration import ArmCalibration, MotorCalibration
    from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER
    cal = ArmCalibration({n: MotorCalibration(i + 1, 0, 0, 1000, 3000) for i, n in enumerate(JOINT_NAMES)})
    f = SafetyFilter.from_calibration(cal, max_step=0.1, ramp_speed=1.0, period=PERIOD)
    np.testing.assert_allclose(f.upper, cal.limits_radians()[1])
    assert np.array_equal(SafetyFilter.from_calibration(None, 0.1, 1.0, PERIOD).lower, LOWER)
    with pytest.raises(ValueError, match='lower < upper'):
        SafetyFilter(HI, LO, 0.1, 1.0, PERIOD)
