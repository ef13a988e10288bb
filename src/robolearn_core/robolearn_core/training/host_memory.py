"""Peak host memory of a process and its children (DataLoader workers), sampled while it runs.

Why sampled: ``ru_maxrss`` covers one process, and the largest child alone; the workers that decode and
gather batches count too. PSS (proportional set size, Linux) shares pages that several processes map
(torch's libraries, shared-memory batches) between them, so the sum is not inflated by counting them
once per worker. Where /proc is missing, the process's own peak RSS is reported.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from pathlib import Path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f'/proc/{pid}/task').glob('*'):
        try:
            out += [int(c) for c in (task / 'children').read_text().split()]
        except OSError:
            continue
    return out


def _memory_bytes(pid: int, field: str) -> int:
    try:
        for line in Path(f'/proc/{pid}/smaps_rollup').read_text().splitlines():
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory_bytes(pid: int | None = None, field: str = 'Pss') -> int:
    """Summed ``field`` (Pss, or Rss: shared pages once per process) of ``pid`` (default: this process) and all
    its descendants, from /proc/<pid>/smaps_rollup; 0 where /proc cannot tell."""
    pending, total, seen = [pid or os.getpid()], 0, set()
    while pending:
        p = pending.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _memory_bytes(p, field)
        pending += _children(p)
    return total


def own_peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


class PeakMemory:
    """A daemon thread that samples :func:`tree_memory_bytes` of ``pid`` every ``interval`` seconds."""

    def __init__(self, pid: int | None = None, interval: float = 0.5):
        self.pid, self.interval, self.peak = pid or os.getpid(), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='peak-memory', daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_memory_bytes(self.pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> 'PeakMemory':
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_gb(self) -> float:
        """The sampled peak, or this process's own peak RSS where sampling saw nothing (no /proc) or less."""
        own = own_peak_rss_bytes() if self.pid == os.getpid() else 0
        return max(self.peak, own) / 1e9
