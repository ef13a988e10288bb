"""The observations a policy sees, at the dataset's frame spacing, whatever the inference rate.

Why: a policy with ``n_obs_steps`` > 1 was trained on frames 1/fps apart. Appending one frame per
inference call (as a bare ``predict_chunk`` loop does) puts its frames a chunk apart instead, which it
has never seen. So the policy node feeds every observation it receives, with its time, and an
inference at time t takes the newest frame at or before each of t - k/fps (k = n-1 .. 0). Instants
before the episode's first frame take that first frame, as the trainer pads an episode's start.
"""

from __future__ import annotations

import bisect
from typing import Any

#: seconds: a frame stamped this close after an instant still counts as at it (float rounding of stamps)
STAMP_TOLERANCE = 1e-6


class ObservationHistory:
    """Timed observations of the current episode; :meth:`frames` picks ``n_obs_steps`` of them 1/fps apart."""

    def __init__(self, n_obs_steps: int, fps: float, keep_seconds: float = 2.0) -> None:
        if n_obs_steps < 1 or not fps > 0 or keep_seconds < 0:
            raise ValueError(f'need n_obs_steps >= 1, fps > 0, keep_seconds >= 0; got {n_obs_steps}, {fps}, {keep_seconds}')
        self.n_obs_steps = n_obs_steps
        self.fps = fps
        #: how far back from the newest frame to keep frames: the history's span plus a margin for late inferences
        self.keep = (n_obs_steps - 1) / fps + keep_seconds
        self._times: list[float] = []
        self._frames: list[Any] = []

    def __len__(self) -> int:
        return len(self._times)

    def add(self, t: float, observation: Any) -> None:
        """Add an observation taken at ``t`` (s); one at the same time as a kept one replaces it."""
        i = bisect.bisect_left(self._times, t)
        if i < len(self._times) and self._times[i] == t:
            self._frames[i] = observation
        else:
            self._times.insert(i, t)
            self._frames.insert(i, observation)
        cutoff = self._times[-1] - self.keep
        while len(self._times) > 1 and self._times[1] <= cutoff:
            del self._times[0], self._frames[0]

    def newest_time(self) -> float | None:
        """When the newest kept observation was taken, or None before any."""
        return self._times[-1] if self._times else None

    def frames(self, t: float) -> list[Any] | None:
        """The ``n_obs_steps`` observations for an inference at ``t``, oldest first; None before the first one kept."""
        if not self._times or t < self._times[0] - STAMP_TOLERANCE:
            return None
        picked = []
        for k in range(self.n_obs_steps - 1, -1, -1):
            i = bisect.bisect_right(self._times, t - k / self.fps + STAMP_TOLERANCE) - 1
            picked.append(self._frames[max(i, 0)])  # before the first frame: the first frame, as training pads
        return picked

    def reset(self) -> None:
        """Forget the episode (a new one starts)."""
        self._times, self._frames = [], []
