"""The policy's history frames are 1/fps apart whatever the rate of the calls."""

import pytest

from robolearn_core.control.observation_history import ObservationHistory

FPS = 30


def test_frames_are_one_frame_apart_whatever_the_call_rate():
    h = ObservationHistory(n_obs_steps=3, fps=FPS)
    for i in range(300):  # state at 100 Hz: the observation is its own time
        h.add(i / 100, i / 100)
    for t in (1.0, 1.37, 2.5, 2.99):  # inferences at any instants, any spacing
        frames = h.frames(t)
        assert frames[-1] == pytest.approx(t, abs=0.01)
        for a, b in zip(frames, frames[1:]):
            assert b - a == pytest.approx(1 / FPS, abs=0.01)
        for k, f in enumerate(reversed(frames)):  # the newest at or before each instant
            assert t - k / FPS - 0.01 < f <= t - k / FPS + 1e-9


def test_episode_start_repeats_the_first_frame_and_reset_forgets():
    h = ObservationHistory(n_obs_steps=2, fps=FPS)
    assert h.frames(0.0) is None
    h.add(5.0, 'first')
    assert h.frames(4.9) is None
    assert h.frames(5.0) == ['first', 'first']
    h.add(5.02, 'second')
    assert h.frames(5.02) == ['first', 'second']
    h.add(5.04, 'third')
    assert h.frames(5.04) == ['first', 'third']  # 5.04 - 1/30 = 5.007: the newest at or before it is 'first'
    h.reset()
    assert h.frames(5.04) is None


def test_out_of_order_and_repeated_stamps_and_bounded_memory():
    h = ObservationHistory(n_obs_steps=2, fps=10, keep_seconds=1.0)
    h.add(1.0, 'b')
    h.add(0.9, 'a')
    h.add(1.0, 'b2')
    assert h.frames(1.0) == ['a', 'b2']
    for i in range(1000):
        h.add(2.0 + i / 100, i)
    assert len(h) <= (1 / 10 + 1.0) * 100 + 2
    assert h.frames(2.0 + 999 / 100) == [989, 999]
    with pytest.raises(ValueError):
        ObservationHistory(0, FPS)
