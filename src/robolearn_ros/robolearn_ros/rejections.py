"""Counting and logging rejected input (a malformed command, a bad chunk) without flooding the log.

Why: a sender stuck on a bad message repeats it at 50 Hz. Each new message is logged at once (so every
distinct problem reaches the user), a repeated one at most once per ``repeat_period_s``; the counts by
kind go to /diagnostics.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable


class RejectionLog:
    def __init__(self, warn: Callable[[str], None], repeat_period_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.warn = warn
        self.repeat_period_s = repeat_period_s
        self.clock = clock
        self.by_reason: collections.Counter[str] = collections.Counter()
        self._last_reason, self._last_logged = '', -float('inf')

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def reject(self, kind: str, message: str) -> None:
        """Count a rejection of ``kind``; log ``message`` unless the same message was logged within the repeat period."""
        self.by_reason[kind] += 1
        now = self.clock()
        if message != self._last_reason or now - self._last_logged >= self.repeat_period_s:
            self.warn(message)
            self._last_reason, self._last_logged = message, now
