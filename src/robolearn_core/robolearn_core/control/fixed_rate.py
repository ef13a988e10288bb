"""A fixed-rate loop on an absolute schedule: tick k is due at ``origin + k / rate``.

Why absolute: ``sleep(period)`` after each tick adds the tick's own duration and every wake-up delay to
the period, so the rate drifts low under load. Here a late tick does not move the ones after it; when
the loop is more than a whole period late (the process was starved), the ticks that passed are skipped
and counted, never run in a burst. The recorder's sampling clock, the driver's control loop, the
camera's capture pacing and the executor all tick on this one schedule.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tick:
    """One tick as it happened: which one, when it was due, how late it ran, and how many were skipped."""

    index: int      # ticks since the schedule (re)started; skipped ones count
    due: float      # scheduled time, on the schedule's clock
    late: float     # seconds after ``due`` that the tick began (>= 0)
    missed: int     # ticks skipped just before this one because the loop was a period or more late


class FixedRateSchedule:
    """Due times on a fixed grid; :meth:`wait` sleeps until the next one (or returns None when stopped)."""

    def __init__(self, rate_hz: float, clock: Callable[[], float] = time.monotonic, window: int = 1000) -> None:
        if not rate_hz > 0:
            raise ValueError(f'rate must be > 0 Hz, got {rate_hz}')
        self.period = 1.0 / rate_hz
        self.clock = clock
        self.origin = clock()
        self._next = 0
        self.missed_total = 0
        self._late: deque[float] = deque(maxlen=window)

    def restart(self, origin: float | None = None) -> None:
        """Tick 0 is due at ``origin`` (default now): e.g. the first frame of a new episode."""
        self.origin = self.clock() if origin is None else origin
        self._next = 0

    def next_due(self) -> float:
        return self.origin + self._next * self.period

    def wait(self, stop: threading.Event) -> Tick | None:
        """Sleep until the next tick is due and return it; None once ``stop`` is set."""
        delay = self.next_due() - self.clock()
        if delay > 0 and stop.wait(delay):
            return None
        if stop.is_set():
            return None
        return self.take(self.clock())

    def take(self, now: float) -> Tick:
        """The tick that ``now`` falls in, skipping (and counting) the ones that passed unseen."""
        due = self.next_due()
        missed = max(0, int((now - due) / self.period))
        index = self._next + missed
        due += missed * self.period
        self._next = index + 1
        self.missed_total += missed
        late = max(0.0, now - due)
        self._late.append(late)
        return Tick(index, due, late, missed)

    def lateness_ms(self) -> dict[str, float]:
        """p50 / p99 / max of how late the recent ticks began, ms (the period error of the loop)."""
        late = np.asarray(self._late) * 1000.0 if self._late else np.zeros(1)
        return {'p50': float(np.percentile(late, 50)), 'p99': float(np.percentile(late, 99)), 'max': float(late.max())}
