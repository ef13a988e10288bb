"""The inference delay, estimated from what was measured, robust to one slow call.

Two measurements feed it: (a) a chunk's arrival time minus the stamp of the observation it was
computed from (how much of the chunk is already in the past when it lands), and (b) the setpoints the
executor consumed while a request was in flight (request to arrival, in ticks: what the queue must
hold to avoid a stall). The estimate is the larger of the two windows' high percentiles.

Why a windowed percentile, not a running maximum: LeRobot's RTC keeps the maximum ever seen, so one
warm-up call of 21 ticks made an SO-101 skip 21 of every 30 actions for good (lerobot#4223). Here each
window keeps the last ``window`` measurements younger than ``max_age`` seconds (always at least the
newest), and the estimate is the ``percentile`` (p90) of the window without its ``ignore_slowest``
slowest values (1). Dropping the slowest matters while the window is still filling: right after a
warm-up call, a p90 over two or five values is that call; without it, one slow call never counts,
whatever the fill, while a real slow-down (every call slower) moves the estimate within a few calls.
An outlier leaves the window entirely after ``window`` calls or ``max_age`` seconds. ``floor`` bounds the
estimate from below (e.g. one control tick, or a known transport latency).
"""

from __future__ import annotations

from collections import deque

import numpy as np


class MeasurementWindow:
    """The last ``size`` (time, value) measurements, forgetting those older than ``max_age`` s but the newest."""

    def __init__(self, size: int, max_age: float) -> None:
        if size < 1 or not max_age > 0:
            raise ValueError(f'window size must be >= 1 and max_age > 0; got {size}, {max_age}')
        self.max_age = max_age
        self._items: deque[tuple[float, float]] = deque(maxlen=size)

    def add(self, now: float, value: float) -> None:
        if np.isfinite(value) and value >= 0:
            self._items.append((now, float(value)))

    def values(self, now: float) -> np.ndarray:
        while len(self._items) > 1 and self._items[0][0] < now - self.max_age:
            self._items.popleft()
        return np.array([v for _, v in self._items])

    def clear(self) -> None:
        self._items.clear()


class DelayEstimator:
    """Seconds from an observation (or a request) to its chunk's arrival: a high percentile of recent calls."""

    def __init__(self, window: int = 20, max_age: float = 30.0, percentile: float = 90.0, floor: float = 0.0,
                 initial: float = 0.0, ignore_slowest: int = 1) -> None:
        if not 0 < percentile <= 100:
            raise ValueError(f'percentile must be in (0, 100]; got {percentile}')
        if floor < 0 or initial < 0:
            raise ValueError(f'floor and initial must be >= 0; got {floor}, {initial}')
        self.percentile = percentile
        self.floor = floor
        self.initial = initial
        self.ignore_slowest = ignore_slowest
        self._latency = MeasurementWindow(window, max_age)
        self._round_trip = MeasurementWindow(window, max_age)
        if not 0 <= ignore_slowest < window:
            raise ValueError(f'ignore_slowest must be in [0, window); got {ignore_slowest}')

    def observe_chunk(self, stamp: float, arrival: float) -> None:
        """(a) A chunk computed from the observation at ``stamp`` arrived at ``arrival``."""
        self._latency.add(arrival, arrival - stamp)

    def observe_request(self, consumed_ticks: int, tick_period: float, now: float) -> None:
        """(b) ``consumed_ticks`` setpoints were executed between the request and its chunk's arrival at ``now``."""
        self._round_trip.add(now, consumed_ticks * tick_period)

    def latency(self, now: float) -> float | None:
        """(a)'s percentile, or None before any chunk arrived."""
        return self._percentile(self._latency, now)

    def round_trip(self, now: float) -> float | None:
        """(b)'s percentile, or None before any request was answered."""
        return self._percentile(self._round_trip, now)

    def estimate(self, now: float) -> float:
        """The delay to plan for (s): the larger of (a) and (b), at least ``floor``; ``initial`` before any measurement."""
        measured = [d for d in (self.latency(now), self.round_trip(now)) if d is not None]
        return max(self.floor, max(measured) if measured else self.initial)

    def reset(self) -> None:
        self._latency.clear()
        self._round_trip.clear()

    def _percentile(self, window: MeasurementWindow, now: float) -> float | None:
        values = np.sort(window.values(now))
        if len(values) > self.ignore_slowest:  # with fewer, all there is (a first call cannot be told from an outlier)
            values = values[:len(values) - self.ignore_slowest]
        return float(np.percentile(values, self.percentile)) if len(values) else None
