"""The executor's tick: queue, delay estimate, requests, safety filter, holding; plain Python, any clock.

Why apart from the node: everything the 50 Hz loop decides (which setpoint is due, when to ask for the
next chunk, how a chunk merges, what is measured about the delay, when the arm holds and why) is tested
here on a fake clock; ``executor_node`` only feeds it messages and the time, and publishes what it returns.

One tick: sample the queue at ``now`` (None when it has nothing: empty, exhausted, stopped), pass it
through the safety filter (limits, step limit, the start-up ramp from the measured position, NaN), and,
when remaining / horizon < g and no request is in flight (or the one in flight timed out), issue a
request carrying the setpoints still to execute. A chunk arriving answers the request in flight: the
ticks consumed meanwhile and its age since its observation feed the delay estimate, and the estimate
goes into the merge (rtc) and the diagnostics. The arm holds, never extrapolates, when the queue runs
out (a stall), the policy went silent (stale), or after an emergency stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_core.control.action_queue import MAX_ENSEMBLE_M, MODES, ActionQueue, MergeReport
from robolearn_core.control.chunk import TIME_EPS, Chunk
from robolearn_core.control.delay import DelayEstimator
from robolearn_core.control.motion_stats import MotionStats
from robolearn_core.control.safety import SafetyFilter, SafetyReport, step_toward


@dataclass(frozen=True)
class ExecutorSettings:
    rate_hz: float = 50.0
    aggregation: str = 'blend'
    threshold: float = 0.5
    ensemble_m: float = 0.01
    blend_window: float = 0.2
    max_step: float = 0.1          # rad per tick
    ramp_speed: float = 0.5        # rad/s, from the measured position at start, after a hold or a reset
    request_timeout: float = 1.0   # s: ask again when no chunk answered a request within this
    stale_after: float = 1.0       # s without a chunk (and nothing queued): the policy is stale
    delay_floor: float = 0.0       # s

    @property
    def period(self) -> float:
        return 1.0 / self.rate_hz

    def problems(self) -> list[str]:
        problems = []
        if not 1.0 <= self.rate_hz <= 1000.0:
            problems.append(f'rate_hz {self.rate_hz} is outside 1..1000')
        if self.aggregation not in MODES:
            problems.append(f'aggregation {self.aggregation!r} is not one of {", ".join(MODES)}')
        if not 0.0 < self.threshold <= 1.0:
            problems.append(f'threshold {self.threshold} is outside (0, 1]')
        if not (self.max_step > 0 and self.ramp_speed > 0):
            problems.append(f'max_step ({self.max_step}) and ramp_speed ({self.ramp_speed}) must be > 0')
        if not (self.request_timeout > 0 and self.stale_after > 0 and self.delay_floor >= 0 and self.blend_window >= 0):
            problems.append('request_timeout and stale_after must be > 0; delay_floor and blend_window >= 0')
        if not abs(self.ensemble_m) <= MAX_ENSEMBLE_M:
            problems.append(f'ensemble_m {self.ensemble_m} is outside -{MAX_ENSEMBLE_M}..{MAX_ENSEMBLE_M}')
        return problems


@dataclass(frozen=True)
class Tick:
    """What one tick decided."""

    command: np.ndarray | None      # the joint command to send (None: nothing known yet, send nothing)
    request: Chunk | None           # the setpoints still to execute, when a request goes out this tick
    requested: bool                 # a request goes out this tick (``request`` may still be None: nothing queued)
    safety: SafetyReport
    holding: str                    # '' while playing; else why the arm holds


class ChunkExecutor:
    """Plays chunks in time. Call :meth:`on_state` with measured joints, :meth:`on_chunk` with validated chunks,
    :meth:`tick` every period; all times on one clock (the chunks' stamps' clock)."""

    def __init__(self, settings: ExecutorSettings, safety: SafetyFilter) -> None:
        self.settings = settings
        self.safety = safety
        self.queue = ActionQueue(settings.aggregation, settings.threshold, settings.ensemble_m,
                                 blend_window=settings.blend_window)
        self.delay = DelayEstimator(floor=settings.delay_floor)
        self.motion = MotionStats(settings.period)
        self.measured: np.ndarray | None = None
        self.running = True
        self.stopped_reason = ''
        self.ticks = 0
        self.chunks = 0
        self.stalls = 0                 # times the queue ran dry while playing
        self.held_ticks = 0
        self.last_merge: MergeReport | None = None
        self.last_chunk_arrival: float | None = None
        self.last_chunk_stamp: float | None = None
        self._request: tuple[float, int] | None = None   # (time, tick) of the request in flight
        self._switch_at: float | None = None  # when the last chunk merged takes over (rtc: after the kept prefix)
        self._switch_plans: tuple[ActionQueue, Chunk] | None = None  # the plan it replaced, and the chunk
        self._last_tick: float | None = None
        self._playing = False

    # --- inputs -----------------------------------------------------------------------------------------
    def on_state(self, positions: np.ndarray) -> None:
        """The measured joint positions (rad): where the start-up ramp starts."""
        self.measured = np.asarray(positions, dtype=np.float64)

    def on_chunk(self, chunk: Chunk, now: float) -> MergeReport | None:
        """Merge a validated chunk arriving at ``now``; None (ignored) while stopped."""
        if not self.running:
            return None
        if self._request is not None:
            self.delay.observe_request(self.ticks - self._request[1], self.settings.period, now)
            self._request = None
        self.delay.observe_chunk(chunk.stamp, now)
        if len(chunk) > 1:  # the ensemble's m is per dataset step: the chunk's own spacing gives the step
            self.queue.fps = 1.0 / float(np.median(np.diff(chunk.times)))
        replaced = self.queue.copy()
        report = self.queue.merge(chunk, now, self.delay.estimate(now))
        self._switch_plans = (replaced, chunk)
        self.chunks += 1
        self.last_merge = report
        self.last_chunk_arrival, self.last_chunk_stamp = now, chunk.stamp
        self._switch_at = report.switch_time
        return report

    # --- the tick ---------------------------------------------------------------------------------------
    def tick(self, now: float) -> Tick:
        s = self.settings
        setpoint = self.queue.sample(now) if self.running else None
        previous = self.safety.last_command
        command, safety = self.safety.command(setpoint, self.measured)
        holding = self._holding(setpoint, now)
        if holding and self._playing:
            self.stalls += int(holding == 'queue empty')
            self._playing = False
        elif not holding:
            self._playing = True
        self.held_ticks += int(bool(holding) and self.chunks > 0)
        switched = setpoint is not None and self._switch_at is not None and now >= self._switch_at - TIME_EPS
        # while the safety filter ramps (start, after a hold) its ramp sets the step, not the switch
        self.motion.add(command, switched=switched, held=setpoint is None,
                        own_step=self._own_step(now, previous) if switched and not safety.ramping else None)
        if switched:
            self._switch_at = None
        self._last_tick = now
        request, requested = None, False
        timed_out = self._request is None or now - self._request[0] > s.request_timeout
        if self.running and self.queue.needs_request(now) and timed_out:
            request, requested = self.queue.pending(now), True
            self._request = (now, self.ticks + 1)  # the ticks after this one run while it is in flight
        self.ticks += 1
        return Tick(command, request, requested, safety, holding)

    def _own_step(self, now: float, previous: np.ndarray | None) -> np.ndarray | None:
        """Per joint, the step this tick would have had without the switch (the replaced plan through the safety
        filter from the last command: it may still be catching up after a step limit), or the new chunk's own
        step here, whichever is larger; None when no plan was playing."""
        if self._switch_plans is None or self._last_tick is None or previous is None:
            return None
        replaced, chunk = self._switch_plans
        if replaced.sample(self._last_tick) is None:  # nothing was playing: a start, or after a hold
            return None
        at = replaced.sample(now)  # None: the plan just ended, and the arm would have held
        old = np.zeros_like(previous) if at is None else np.abs(
            step_toward(previous, at, self.settings.max_step, self.safety.lower, self.safety.upper) - previous)
        new = np.abs(np.diff(chunk.sample_many(np.array([now, now + self.settings.period])), axis=0)[0])
        return np.maximum(old, new)

    def _holding(self, setpoint: np.ndarray | None, now: float) -> str:
        if not self.running:
            return f'stopped: {self.stopped_reason}'
        if setpoint is not None:
            return ''
        if self.last_chunk_arrival is None:
            return 'waiting for the first chunk'
        if now - self.last_chunk_arrival > self.settings.stale_after:
            return f'stale policy: no chunk for {now - self.last_chunk_arrival:.1f} s'
        return 'queue empty'

    # --- control ----------------------------------------------------------------------------------------
    def emergency_stop(self, reason: str = 'emergency stop') -> None:
        """Hold the last command and forget the queue; chunks are ignored until :meth:`reset`."""
        self.running = False
        self.stopped_reason = reason
        self.queue.reset()
        self._request = None

    def reset(self) -> None:
        """A new episode: empty queue, ramp from the measured position, ask for a chunk at the next tick; the
        episode's figures (motion, chunks, stalls, holds) start again."""
        self.queue.reset()
        self.safety.restart()
        self.motion = MotionStats(self.settings.period)
        self.chunks = self.stalls = self.held_ticks = 0
        self.running, self.stopped_reason = True, ''
        self._request = None
        self._playing = False
        self._switch_at = self._switch_plans = self._last_tick = None
        self.last_chunk_arrival = self.last_chunk_stamp = None

    def status(self, now: float) -> dict[str, float | int | str]:
        """Numbers for /diagnostics."""
        latency, round_trip = self.delay.latency(now), self.delay.round_trip(now)
        return {
            'queue_s': round(self.queue.remaining(now), 3),
            'chunk_age_s': round(now - self.last_chunk_stamp, 3) if self.last_chunk_stamp is not None else 'none',
            'delay_estimate_s': round(self.delay.estimate(now), 4),
            'latency_p90_s': 'none' if latency is None else round(latency, 4),
            'round_trip_p90_s': 'none' if round_trip is None else round(round_trip, 4),
            'chunks': self.chunks,
            'stalls': self.stalls,
            'held_ticks': self.held_ticks,
            'last_switch_dropped': self.last_merge.dropped if self.last_merge else 0,
            **{k: round(v, 5) for k, v in self.motion.summary().items()},
        }
