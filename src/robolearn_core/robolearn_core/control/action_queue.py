"""The executor's queue of future setpoints: sampled in time, merged with each new chunk by one of four modes.

A chunk arrives some latency after the observation it was computed from; its setpoints due before
``now`` are dropped (the stamp plus the measured latency is ``now``), and the rest is merged with what
is still queued, from the switch time on:

- ``replace``: the new chunk from the switch on. Any disagreement between the two plans is a jump.
- ``temporal_ensemble`` (ACT): every chunk that has a setpoint for an instant votes, weighted
  ``exp(-m i)`` with ``i`` the prediction's age rank in dataset steps, 0 for the OLDEST prediction
  (ACT's convention: old predictions dominate, so the plan changes slowly). A negative ``m`` turns it
  round: the newest prediction dominates and the older ones only smooth it. Kept in time: ``i`` is
  the difference of the chunks' observation stamps times ``fps``, so chunks need not share a grid.
- ``blend``: a crossfade from the queued plan to the new chunk over ``blend_window`` seconds. The fade
  is a smoothstep, not linear: a linear fade adds the whole disagreement divided by the window's ticks
  to the very first tick's step (a velocity jump at the switch), a smoothstep starts and ends with zero
  added speed. Where the queued plan ends inside the window, or ended before the chunk arrived, the fade
  starts from its last setpoint (what the executor holds on an empty queue): a chunk that arrives as the
  plan runs out (a small g and a long delay) was otherwise spliced on: measured, flow at g 0.2 with 0.1 s of
  delay, chunks arrived 20 ms after the plan's last setpoint and the switch stepped 0.076 rad where the
  plan had moved 0.015 rad a tick (docs/deployment.md).
- ``rtc`` (real-time chunking): the new chunk was generated to continue the queued plan (see rtc.py);
  the queued setpoints are kept for the part that executes before the new chunk could have arrived (its
  stamp plus the estimated delay), where that is still ahead, and from there the plan crossfades to the
  new chunk as ``blend`` does. Why the crossfade: guidance pulls the chunk toward the prefix but does not
  pin it; measured closed loop (flow and diffusion, docs/deployment.md) the guided chunk still differed from
  the queued plan at the switch by 0.025 rad (median) and up to 0.17 rad, and spliced as it was, every
  switch hit the executor's step limit. Where guidance matched, the crossfade changes nothing.

Sampling an empty or exhausted queue gives None: the executor then holds its last command; nothing
here extrapolates past the queue's end.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from robolearn_core.control.chunk import TIME_EPS, Chunk

MODES = ('replace', 'temporal_ensemble', 'blend', 'rtc')
#: |m| beyond this gives one chunk nearly all the weight (a factor e per dataset step of age)
MAX_ENSEMBLE_M = 1.0
#: seconds between the extra setpoints a crossfade is written with (a 50 Hz executor samples every 20 ms)
BLEND_KNOT_SPACING = 0.01


@dataclass(frozen=True)
class MergeReport:
    """What a merge did, for diagnostics."""

    dropped: int        # setpoints of the new chunk already in the past when it arrived
    overlap: float      # seconds, from the switch on, where the queued plan and the new chunk both had setpoints
    jump: float         # rad: max |new setpoint - queued setpoint| at the switch time (0 with nothing to compare)
    switch_time: float  # when the new chunk took over (rtc: after the queued part it kept)


class ActionQueue:
    """Future setpoints in time. ``threshold`` g: ask for a chunk once remaining / horizon < g."""

    def __init__(self, mode: str = 'replace', threshold: float = 0.5, ensemble_m: float = 0.01, fps: float = 30.0,
                 blend_window: float = 0.1) -> None:
        if mode not in MODES:
            raise ValueError(f'aggregation mode must be one of {MODES}; got {mode!r}')
        if not 0 < threshold <= 1:
            raise ValueError(f'threshold must be in (0, 1]; got {threshold}')
        if not abs(ensemble_m) <= MAX_ENSEMBLE_M or not fps > 0 or blend_window < 0:
            raise ValueError(f'need |ensemble_m| <= {MAX_ENSEMBLE_M}, fps > 0, blend_window >= 0; '
                             f'got {ensemble_m}, {fps}, {blend_window}')
        self.mode = mode
        self.threshold = threshold
        self.ensemble_m = ensemble_m
        self.fps = fps
        self.blend_window = blend_window
        self._chunks: list[Chunk] = []  # temporal_ensemble: every chunk still voting; otherwise at most one plan
        self._last_plan: Chunk | None = None  # blend, rtc: the plan last merged, kept past its end to fade from
        self._horizon = 0.0

    # --- reading -----------------------------------------------------------------------------------
    @property
    def horizon(self) -> float:
        """Duration (s) of the last chunk merged: what ``threshold`` is a fraction of (0 before any)."""
        return self._horizon

    @property
    def end(self) -> float | None:
        """When the last queued setpoint is due, or None when nothing is queued."""
        return max(c.end for c in self._chunks) if self._chunks else None

    def sample(self, t: float) -> np.ndarray | None:
        """The setpoint due at ``t`` (J,), or None where the queue has none (empty, exhausted, a gap)."""
        voters = [c for c in self._chunks if c.covers(t)]
        if not voters:
            return None
        if len(voters) == 1:
            return voters[0].sample(t)
        weights = self._ensemble_weights(np.array([c.stamp for c in voters]))
        return np.einsum('c,cj->j', weights, np.stack([c.sample(t) for c in voters])) / weights.sum()

    def remaining(self, now: float) -> float:
        """Seconds of setpoints still ahead of ``now``."""
        end = self.end
        return 0.0 if end is None else max(0.0, end - now)

    def needs_request(self, now: float) -> bool:
        """True once remaining / horizon < threshold (and always when nothing is queued)."""
        return self._horizon <= 0 or self.remaining(now) / self._horizon < self.threshold

    def pending(self, now: float) -> Chunk | None:
        """The setpoints still to execute from ``now`` (stamp ``now``), as a request carries them for rtc."""
        self._forget_before(now)
        if not self._chunks:
            return None
        if len(self._chunks) == 1:
            return self._chunks[0].after(now)
        times = np.unique(np.concatenate([[now], *(c.abs_times for c in self._chunks)]))
        times = times[times >= now - TIME_EPS]
        samples = [(t, self.sample(t)) for t in times]
        kept = [(t, p) for t, p in samples if p is not None]
        if not kept:
            return None
        return Chunk(now, np.array([t for t, _ in kept]) - now, np.stack([p for _, p in kept]))

    def copy(self) -> ActionQueue:
        """The queue as it is now, unchanged by later merges (chunks are immutable): the plan a switch replaces."""
        twin = copy.copy(self)
        twin._chunks = list(self._chunks)
        return twin

    # --- changing ----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every setpoint (a new episode, an emergency stop)."""
        self._chunks = []
        self._last_plan = None
        self._horizon = 0.0

    def merge(self, chunk: Chunk, now: float, delay: float = 0.0) -> MergeReport:
        """Add a chunk arriving at ``now``; ``delay``: the estimated inference delay (s, used by ``rtc``)."""
        self._forget_before(now)
        self._horizon = chunk.duration
        dropped = chunk.count_before(now)
        new = chunk.after(now)
        if new is None:  # all of it is in the past: nothing to play
            return MergeReport(dropped, 0.0, 0.0, now)
        old_end = self.end
        switch = max(now, new.start)
        if self.mode == 'rtc' and old_end is not None:
            switch = max(switch, min(chunk.stamp + delay, old_end))
        switch = min(switch, new.end)
        old_at_switch, new_at_switch = self.sample(switch), new.sample(switch)
        jump = 0.0 if old_at_switch is None else float(np.max(np.abs(new_at_switch - old_at_switch)))
        overlap = 0.0 if old_end is None else max(0.0, min(old_end, new.end) - switch)
        if self.mode == 'temporal_ensemble':
            self._chunks.append(new)
        elif self.mode in ('blend', 'rtc') and self._last_plan is not None:
            self._chunks = [self._crossfade(new, now, switch, min(switch + self.blend_window, new.end))]
        else:
            self._chunks = [self._splice(new, now, switch)]
        if self.mode in ('blend', 'rtc'):
            self._last_plan = self._chunks[0]
        return MergeReport(dropped, overlap, jump, switch)

    # --- internals ---------------------------------------------------------------------------------
    def _ensemble_weights(self, stamps: np.ndarray) -> np.ndarray:
        return np.exp(-self.ensemble_m * self.fps * (stamps - stamps.min()))

    def _forget_before(self, now: float) -> None:
        self._chunks = [c for c in self._chunks if c.end >= now - TIME_EPS]

    def _queued_before(self, now: float, switch: float) -> tuple[np.ndarray, np.ndarray]:
        """Times and setpoints of the queued plan from ``now`` up to (not at) ``switch``."""
        old = self._chunks[0].after(now) if self._chunks else None
        if old is None:
            return np.zeros(0), np.zeros((0, 0))
        keep = old.abs_times < switch - TIME_EPS
        return old.abs_times[keep], old.positions[keep]

    def _splice(self, new: Chunk, now: float, switch: float) -> Chunk:
        """The queued setpoints from ``now`` up to ``switch``, then the new chunk from ``switch`` on."""
        return _joined(self._queued_before(now, switch), new.after(switch))

    def _crossfade(self, new: Chunk, now: float, start: float, stop: float) -> Chunk:
        """The queued setpoints up to ``start``, then (1 - a) queued + a new with a smoothstep a from 0 at
        ``start`` to 1 at ``stop``, then the new chunk; the queued plan holds its last setpoint past its end."""
        if stop <= start + TIME_EPS:
            return self._splice(new, now, start)
        old = self._last_plan
        grid = np.linspace(start, stop, max(2, math.ceil((stop - start) / BLEND_KNOT_SPACING) + 1))
        knots = np.concatenate([grid, old.abs_times, new.abs_times])
        knots = np.unique(knots[(knots >= start - TIME_EPS) & (knots < stop - TIME_EPS)])
        knots = knots[np.concatenate([[True], np.diff(knots) > TIME_EPS])]
        s = ((knots - start) / (stop - start))[:, None]
        a = s * s * (3 - 2 * s)
        fade = (1 - a) * old.sample_many(knots) + a * new.sample_many(knots)
        before_t, before_p = self._queued_before(now, start)
        if len(before_t):
            knots, fade = np.concatenate([before_t, knots]), np.concatenate([before_p, fade])
        return _joined((knots, fade), new.after(stop))


def _joined(head: tuple[np.ndarray, np.ndarray], tail: Chunk) -> Chunk:
    """Setpoints at absolute times ``head`` followed by ``tail`` (which starts after them), as one chunk."""
    times, positions = head
    if len(times) == 0:
        return tail
    return Chunk(tail.stamp, np.concatenate([times, tail.abs_times]) - tail.stamp,
                 np.concatenate([positions, tail.positions]))
