"""An action chunk in time: setpoints at ``stamp + times[i]``, sampled by time, never by index.

Why in time: the policy's chunk is on the dataset's grid (i / fps, 30 fps) while the executor ticks at
50 Hz, and a chunk arrives some latency after its observation; only times line the two up.

Why piecewise linear between setpoints: it is exact at every setpoint the policy gave, stays inside the
convex hull of two neighbouring setpoints (so it never overshoots a joint limit the setpoints respect,
unlike a cubic spline), needs no points beyond the segment it is in (so a chunk's last segment needs
nothing after the chunk), and a 30 fps chunk's curvature makes its error between setpoints tiny
(half the acceleration times a thirtieth of a second squared, over four: ~0.2 mrad at 1.2 rad/s^2).
Outside [start, end] there is nothing: :meth:`Chunk.sample` returns None and the caller holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: seconds: two times this close are the same instant (float rounding of stamps plus offsets)
TIME_EPS = 1e-9


@dataclass(frozen=True)
class Chunk:
    """Setpoints ``positions[i]`` (N, J) due at ``stamp + times[i]`` (seconds; times strictly increasing)."""

    stamp: float
    times: np.ndarray
    positions: np.ndarray

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[0] != times.shape[0] or times.shape[0] == 0:
            raise ValueError(f'a chunk needs N >= 1 times and (N, J) positions; got times {times.shape}, '
                             f'positions {positions.shape}')
        if np.any(np.diff(times) <= 0):
            raise ValueError(f'chunk times must increase strictly; got {times.tolist()}')
        object.__setattr__(self, 'stamp', float(self.stamp))
        object.__setattr__(self, 'times', times)
        object.__setattr__(self, 'positions', positions)

    @classmethod
    def from_fps(cls, stamp: float, positions: np.ndarray, fps: float) -> Chunk:
        """A policy's chunk: row i is for ``stamp + i / fps`` (DESIGN.md's time_from_start)."""
        positions = np.asarray(positions, dtype=np.float64)
        return cls(stamp, np.arange(len(positions)) / float(fps), positions)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def abs_times(self) -> np.ndarray:
        return self.stamp + self.times

    @property
    def start(self) -> float:
        return self.stamp + float(self.times[0])

    @property
    def end(self) -> float:
        return self.stamp + float(self.times[-1])

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0])

    def covers(self, t: float) -> bool:
        return self.start - TIME_EPS <= t <= self.end + TIME_EPS

    def sample(self, t: float) -> np.ndarray | None:
        """The setpoint at time ``t`` (J,), linear between setpoints; None outside the chunk (never extrapolated)."""
        if not self.covers(t):
            return None
        return self.sample_many(np.array([t]))[0]

    def sample_many(self, ts: np.ndarray) -> np.ndarray:
        """(M, J) setpoints at times ``ts`` (M,), which the caller keeps inside [start, end]; clamped at the ends."""
        abs_times = self.abs_times
        ts = np.clip(np.asarray(ts, dtype=np.float64), abs_times[0], abs_times[-1])
        if len(abs_times) == 1:
            return np.repeat(self.positions, len(ts), axis=0)
        i = np.clip(np.searchsorted(abs_times, ts, side='right') - 1, 0, len(abs_times) - 2)
        w = ((ts - abs_times[i]) / (abs_times[i + 1] - abs_times[i]))[:, None]
        return self.positions[i] + w * (self.positions[i + 1] - self.positions[i])

    def after(self, t: float) -> Chunk | None:
        """The part from ``t`` on, starting with the interpolated setpoint at ``t``; None when ``t`` is past the end."""
        if t > self.end + TIME_EPS:
            return None
        if t <= self.start + TIME_EPS:
            return self
        keep = self.abs_times > t + TIME_EPS
        times = np.concatenate([[t - self.stamp], self.times[keep]])
        return Chunk(self.stamp, times, np.concatenate([self.sample_many(np.array([t])), self.positions[keep]]))

    def count_before(self, t: float) -> int:
        """How many setpoints are due before ``t`` (the ones a chunk arriving at ``t`` has missed)."""
        return int(np.count_nonzero(self.abs_times < t - TIME_EPS))
