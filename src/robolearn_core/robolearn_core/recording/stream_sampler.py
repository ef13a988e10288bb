"""Latest-value sampling of several streams on one clock, with a max-age tolerance.

Why: a dataset frame is a snapshot of every stream at one instant of the recorder's own fps clock, not
the pairing of messages by arrival. Each stream keeps only its newest value; a sample takes every newest
value if none is older than ``max_age``, and otherwise names the stale streams so the frame can be
skipped and counted as dropped. The recorder node and ``dataset from-bag`` share this rule.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Sample:
    """The values at one tick, or the streams that were missing or too old."""

    values: dict[str, Any]
    stale: dict[str, float | None]  # stream -> age in seconds (None: never received)

    @property
    def complete(self) -> bool:
        return not self.stale


class StreamSampler:
    """Holds the newest (time, value) of each named stream; thread-safe (callbacks vs the sampling tick)."""

    def __init__(self, streams: list[str], max_age: float) -> None:
        if max_age <= 0:
            raise ValueError(f'max_age must be > 0 seconds, got {max_age}')
        self.streams = list(streams)
        self.max_age = max_age
        self._latest: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def put(self, stream: str, t: float, value: Any) -> None:
        with self._lock:
            self._latest[stream] = (t, value)

    def age(self, stream: str, now: float) -> float | None:
        with self._lock:
            item = self._latest.get(stream)
        return None if item is None else now - item[0]

    def sample(self, now: float) -> Sample:
        """Every stream's newest value if it is at most ``max_age`` old at ``now`` (values newer than now count)."""
        with self._lock:
            latest = dict(self._latest)
        values, stale = {}, {}
        for name in self.streams:
            item = latest.get(name)
            if item is None:
                stale[name] = None
            elif now - item[0] > self.max_age:
                stale[name] = now - item[0]
            else:
                values[name] = item[1]
        return Sample(values, stale)


def describe_stale(stale: dict[str, float | None]) -> str:
    """'camera front: no message yet; follower: 0.42 s old' for logs and diagnostics."""
    parts = [f'{k}: no message yet' if age is None else f'{k}: {age:.2f} s old' for k, age in stale.items()]
    return '; '.join(parts)
