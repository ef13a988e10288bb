"""A chunk is sampled in time, linearly between setpoints, and has nothing outside its span."""

import numpy as np
import pytest

from robolearn_core.control.chunk import Chunk


def chunk() -> Chunk:
    return Chunk.from_fps(10.0, np.array([[0.0, 1.0], [0.3, 1.0], [0.6, 0.4]]), fps=30)


def test_times_come_from_the_dataset_fps():
    c = chunk()
    np.testing.assert_allclose(c.times, [0, 1 / 30, 2 / 30])
    assert c.start == 10.0 and c.end == pytest.approx(10 + 2 / 30) and c.duration == pytest.approx(2 / 30)


def test_sample_is_exact_at_setpoints_and_linear_between():
    c = chunk()
    for i in range(3):
        np.testing.assert_allclose(c.sample(10 + i / 30), c.positions[i])
    # a 50 Hz tick 20 ms in falls 60% of the way from setpoint 0 to 1
    np.testing.assert_allclose(c.sample(10.02), [0.18, 1.0])
    # between two setpoints the value stays between them (no overshoot of a limit they respect)
    samples = c.sample_many(np.linspace(c.start, c.end, 50))
    assert samples[:, 0].min() >= 0.0 and samples[:, 0].max() <= 0.6
    assert samples[:, 1].min() >= 0.4 and samples[:, 1].max() <= 1.0


def test_nothing_outside_the_chunk():
    c = chunk()
    assert c.sample(9.99) is None
    assert c.sample(c.end + 0.001) is None
    assert c.after(c.end + 0.001) is None


def test_after_starts_with_the_interpolated_setpoint():
    c = chunk()
    rest = c.after(10.05)
    assert len(rest) == 2 and rest.start == pytest.approx(10.05) and rest.end == c.end
    np.testing.assert_allclose(rest.sample(10.05), c.sample(10.05))
    assert c.after(5.0) is c
    assert c.count_before(10.05) == 2 and c.count_before(10.0) == 0


def test_malformed_chunks_are_refused():
    with pytest.raises(ValueError, match='increase strictly'):
        Chunk(0.0, np.array([0.0, 0.1, 0.1]), np.zeros((3, 2)))
    with pytest.raises(ValueError, match='N >= 1'):
        Chunk(0.0, np.zeros(0), np.zeros((0, 2)))
    with pytest.raises(ValueError, match='N >= 1'):
        Chunk(0.0, np.array([0.0, 0.1]), np.zeros((3, 2)))
