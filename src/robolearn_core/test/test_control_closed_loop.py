"""The queue in a closed loop without ROS: a 50 Hz executor on a fake clock, a fake policy with inference delay.

The fake policy samples a known smooth trajectory from its observation's stamp, plus a bias of its own
per chunk (a real policy's chunks disagree a little: noise, modes), and, when given an rtc prefix,
follows it with the prefix weights as guided inference would. A switch "jump" is how much the command
step at the tick the new chunk takes over differs from the trajectory's own step at that tick: the
discontinuity the switch adds on top of the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from robolearn_core.control.action_queue import MODES, ActionQueue
from robolearn_core.control.chunk import Chunk
from robolearn_core.control.delay import DelayEstimator
from robolearn_core.control.rtc import rtc_prefix

FPS = 30
TICK = 0.02
HORIZON = 30          # points a chunk (0.97 s)
JOINTS = 6
AMPLITUDE, FREQUENCY = 0.5, 0.25
BIAS = 0.03           # rad: each chunk's own offset, uniform in +-BIAS per joint
SECONDS = 12.0
#: the trajectory's largest step in one tick (its speed bound times the tick)
TRAJECTORY_STEP = AMPLITUDE * 2 * math.pi * FREQUENCY * TICK


def trajectory(t: np.ndarray) -> np.ndarray:
    phases = np.linspace(0.0, math.pi, JOINTS)
    return AMPLITUDE * np.sin(2 * math.pi * FREQUENCY * np.asarray(t, dtype=np.float64)[..., None] + phases)


@dataclass
class Run:
    commands: list[np.ndarray | None] = field(default_factory=list)
    switches: list[tuple[int, float]] = field(default_factory=list)  # (tick the new chunk took over, reported jump)
    skipped: list[tuple[int, int]] = field(default_factory=list)     # (points of a chunk not played, allowed)
    held_ticks: int = 0


def run(mode: str, delays: list[float] | float, threshold: float = 0.5, seed: int = 0) -> Run:
    """Run the executor loop for SECONDS; call i of the policy takes delays[i] (or the one delay) seconds."""
    rng = np.random.default_rng(seed)
    queue = ActionQueue(mode, threshold=threshold, fps=FPS, blend_window=0.2)
    estimator = DelayEstimator(floor=TICK)
    out = Run()
    in_flight = None  # (request tick, stamp, arrival time, chunk)
    calls = 0
    last = None
    for k in range(int(SECONDS / TICK)):
        now = k * TICK
        if in_flight is None and queue.needs_request(now):
            stamp = now  # the newest observation when the request is served
            delay = delays[min(calls, len(delays) - 1)] if isinstance(delays, list) else delays
            calls += 1
            grid = stamp + np.arange(HORIZON) / FPS
            positions = trajectory(grid) + rng.uniform(-BIAS, BIAS, JOINTS)
            pending = queue.pending(now)
            if mode == 'rtc' and pending is not None:
                prefix, weights = rtc_prefix(pending.abs_times, pending.positions, grid, estimator.estimate(now))
                w = weights[:, None]
                positions[:len(w)] = w * prefix + (1 - w) * positions[:len(w)]
            in_flight = (k, stamp, stamp + delay, Chunk.from_fps(stamp, positions, FPS))
        if in_flight is not None and in_flight[2] <= now + 1e-9:
            request_tick, stamp, _, chunk = in_flight
            in_flight = None
            estimator.observe_chunk(stamp, now)
            estimator.observe_request(k - request_tick, TICK, now)
            report = queue.merge(chunk, now, delay=estimator.estimate(now))
            measured = now - stamp
            out.skipped.append((chunk.count_before(report.switch_time), math.ceil(measured * FPS - 1e-6) + 1))
            if report.dropped < len(chunk):
                out.switches.append((math.ceil(report.switch_time / TICK - 1e-6), report.jump))
        setpoint = queue.sample(now)
        if setpoint is None and last is not None:
            out.held_ticks += 1
        last = setpoint if setpoint is not None else last
        out.commands.append(last)
    return out


def extra_steps(result: Run) -> np.ndarray:
    """Per tick: max over joints of |command step - trajectory step| (NaN where a command is missing)."""
    extra = np.full(len(result.commands), np.nan)
    for tick in range(1, len(result.commands)):
        before, after = result.commands[tick - 1], result.commands[tick]
        if before is not None and after is not None:
            own = trajectory(tick * TICK) - trajectory((tick - 1) * TICK)
            extra[tick] = np.max(np.abs(after - before - own))
    return extra


@pytest.mark.parametrize('delay', [0.0, 0.1, 0.2])
@pytest.mark.parametrize('mode', MODES)
def test_setpoints_follow_the_trajectory_and_switch_without_jumps(mode, delay):
    result = run(mode, delay)
    started = next(i for i, c in enumerate(result.commands) if c is not None)
    errors = [np.max(np.abs(c - trajectory(i * TICK))) for i, c in enumerate(result.commands) if i >= started]
    assert result.held_ticks == 0, f'{mode} stalled at {delay} s delay (latency below (1 - g) x chunk duration)'
    assert max(errors) <= BIAS + 0.005, f'{mode} at {delay} s: {max(errors):.4f} rad from the trajectory'
    extra = extra_steps(result)
    jumps = np.array([extra[tick] for tick, _ in result.switches[1:] if tick < len(extra)])
    assert len(jumps) >= 15
    if mode == 'replace':
        assert jumps.max() > 2 * TRAJECTORY_STEP, f'replace: largest switch jump {jumps.max():.4f}'
    if mode in ('rtc', 'blend'):
        assert jumps.max() <= TRAJECTORY_STEP, (
            f'{mode} at {delay} s: switch jump {jumps.max():.4f} rad > the trajectory\'s own step {TRAJECTORY_STEP:.4f}')
        # and nowhere else either: the crossfade / the guided decay spread the disagreement out
        assert np.nanmax(extra) <= TRAJECTORY_STEP, f'{mode} at {delay} s: {np.nanmax(extra):.4f} rad extra in a tick'


@pytest.mark.parametrize('mode', MODES)
def test_one_slow_inference_does_not_make_the_next_chunks_skip_more_than_their_measured_delay(mode):
    delays = [0.1] * 3 + [1.0] + [0.1] * 40  # the fourth call is slow (a GC pause, a warm-up)
    result = run(mode, delays)
    for played_from, allowed in result.skipped:
        assert played_from <= allowed, f'{mode}: a chunk skipped {played_from} points, its measured delay allows {allowed}'
    # after the slow call, chunks skip what 100 ms costs (3 points at 30 fps, +1 for the tick), not 30
    assert max(skip for skip, _ in result.skipped[5:]) <= 4
