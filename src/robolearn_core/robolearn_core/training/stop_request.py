"""Ctrl-C, SIGTERM (a scheduler, ``timeout``, torchrun) or a time limit end a run at the next step boundary.

Why a flag and not KeyboardInterrupt: an exception can land anywhere, e.g. between the optimizer step
and the EMA update; a flag read once per step stops between steps, and the run then saves
``checkpoints/last``, writes its summary and prints it. Later signals are ignored while it does (a
terminal's Ctrl-C and a launcher's forwarded one arrive together), as in ``interrupt_once``.
"""

from __future__ import annotations

import signal
import threading
import time

SIGNALS = {signal.SIGINT: 'SIGINT', signal.SIGTERM: 'SIGTERM'}


class StopRequest:
    """``reason`` becomes 'SIGINT', 'SIGTERM' or 'time_limit' once the run should stop; None until then."""

    def __init__(self, time_limit_s: float | None = None):
        self.reason: str | None = None
        self.deadline = None if not time_limit_s else time.monotonic() + time_limit_s
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.reason = self.reason or SIGNALS[signum]
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def check(self) -> str | None:
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = 'time_limit'
        return self.reason

    def __enter__(self) -> 'StopRequest':
        if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.reason in SIGNALS.values():
            return  # stopping for a signal: later ones stay ignored until the process has reported and exited
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
