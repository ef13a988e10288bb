import numpy as np
import pytest

from robolearn_core.joint_command_limits import SO101_LOWER, SO101_UPPER, JointCommandLimits


def test_commands_inside_limits_pass_unchanged() -> None:
    limits = JointCommandLimits()
    cmd = np.array([0.1, -0.2, 0.3, 0.0, 0.5, 0.2])
    out, problems = limits.apply(cmd)
    np.testing.assert_array_equal(out, cmd)
    assert problems == []


def test_clamps_to_joint_limits_and_step() -> None:
    limits = JointCommandLimits(max_step=0.05)
    out, _ = limits.apply(np.zeros(6))
    out, problems = limits.apply(np.full(6, 10.0))
    np.testing.assert_allclose(out, np.full(6, 0.05))
    assert any('step' in p for p in problems)
    limits = JointCommandLimits()
    out, problems = limits.apply(np.full(6, 10.0))
    np.testing.assert_allclose(out, SO101_UPPER)
    assert any('joint limits' in p for p in problems)


def test_nan_is_never_sent() -> None:
    limits = JointCommandLimits()
    out, problems = limits.apply(np.full(6, np.nan))
    assert out is None and problems
    limits.apply(np.zeros(6))
    cmd = np.zeros(6)
    cmd[2] = np.nan
    out, _ = limits.apply(cmd)
    assert np.all(np.isfinite(out))


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match='lower < upper'):
        JointCommandLimits(lower=SO101_UPPER, upper=SO101_LOWER)
    with pytest.raises(ValueError, match='max_step'):
        JointCommandLimits(max_step=0.0)
