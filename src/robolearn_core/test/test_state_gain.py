"""state_gain recovers a known dependence of the chunk on the state: a position copy, a velocity read from the
history, and nothing for a policy that ignores the joint."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from robolearn_core.policies.state_gain import state_gain


class LinearInStatePolicyDouble:
    """Stands in for a trained network: its chunk is a known linear function of the state history
    (chunk row r, joint j = position_gain * newest + velocity_gain * (newest - oldest) * (r + 1)), so the
    finite differences have an exact answer to be checked against."""

    def __init__(self, position_gain: float, velocity_gain: float, horizon: int = 4, uses_state: bool = True):
        self.config = SimpleNamespace(state_key='observation.state', uses_state=uses_state, name='linear')
        self.position_gain, self.velocity_gain, self.horizon = position_gain, velocity_gain, horizon

    def predict_chunk(self, observation_frames):
        oldest = np.asarray(observation_frames[0]['observation.state'], dtype=np.float64)
        newest = np.asarray(observation_frames[-1]['observation.state'], dtype=np.float64)
        rows = np.arange(1, self.horizon + 1)[:, None]
        return (self.position_gain * newest + self.velocity_gain * (newest - oldest) * rows).astype(np.float32)


FRAMES = [{'observation.state': np.array([10.0, -20.0, 30.0]), 'observation.images.front': 'unused'},
          {'observation.state': np.array([11.0, -21.0, 32.0]), 'observation.images.front': 'unused'}]


def test_a_position_copy_has_gain_one_in_either_shift():
    gain = state_gain(LinearInStatePolicyDouble(1.0, 0.0), FRAMES, joint=1, delta=5.0)
    np.testing.assert_allclose(gain['history'], 1.0, atol=1e-5)
    np.testing.assert_allclose(gain['latest'], 1.0, atol=1e-5)


def test_a_velocity_read_from_the_history_shows_in_the_newest_frame_only():
    gain = state_gain(LinearInStatePolicyDouble(0.5, 0.25), FRAMES, joint=2, delta=-3.0)
    np.testing.assert_allclose(gain['history'], 0.5, atol=1e-5)  # a position offset moves no velocity
    np.testing.assert_allclose(gain['latest'], 0.5 + 0.25 * np.arange(1, 5), atol=1e-5)
    assert FRAMES[1]['observation.state'][2] == 32.0  # the caller's frames are not changed


def test_a_policy_without_state_is_refused_by_name():
    with pytest.raises(ValueError, match='reads no state'):
        state_gain(LinearInStatePolicyDouble(1.0, 0.0, uses_state=False), FRAMES, joint=0)
    with pytest.raises(ValueError, match='delta must be non-zero'):
        state_gain(LinearInStatePolicyDouble(1.0, 0.0), FRAMES, joint=0, delta=0.0)
