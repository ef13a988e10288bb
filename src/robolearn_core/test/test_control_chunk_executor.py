"""The executor's tick on a fake clock: chunks play at their times, g triggers requests, the arm ramps and holds."""

import numpy as np
import pytest

from robolearn_core.control.chunk import Chunk
from robolearn_core.control.chunk_executor import ChunkExecutor, ExecutorSettings
from robolearn_core.control.safety import SafetyFilter

PERIOD = 0.02
LOWER, UPPER = np.full(6, -2.0), np.full(6, 2.0)


def executor(**settings) -> ChunkExecutor:
    s = ExecutorSettings(**{'aggregation': 'replace', **settings})
    return ChunkExecutor(s, SafetyFilter(LOWER, UPPER, s.max_step, s.ramp_speed, s.period))


def ramp_chunk(stamp: float, start: np.ndarray, speed: float = 0.3, points: int = 30, fps: float = 30.0) -> Chunk:
    """Every joint moving at ``speed`` rad/s from ``start``, on a 30 fps grid."""
    t = np.arange(points) / fps
    return Chunk(stamp, t, start + speed * t[:, None])


def test_before_any_chunk_the_arm_holds_where_it_is_and_asks_for_one():
    ex = executor()
    first = ex.tick(0.0)
    assert first.command is None and first.requested   # nothing measured yet: nothing to send, but ask already
    ex.on_state(np.full(6, 0.3))
    tick = ex.tick(0.02)
    np.testing.assert_array_equal(tick.command, np.full(6, 0.3))
    assert tick.holding == 'waiting for the first chunk'
    assert not tick.requested                            # one request in flight at a time...
    assert ex.tick(1.04).requested                       # ...until it times out (request_timeout 1 s)


def test_a_chunk_plays_at_its_times_sampled_between_its_points():
    ex = executor()
    start = np.full(6, 0.1)
    ex.on_state(start)
    ex.tick(0.0)
    chunk = ramp_chunk(stamp=0.0, start=start)
    ex.on_chunk(chunk, now=0.01)
    last_played = None
    for k in range(1, 51):
        now = k * PERIOD
        tick = ex.tick(now)
        if now <= chunk.end:
            last_played = tick.command
            np.testing.assert_allclose(tick.command, chunk.sample(now), atol=1e-12)  # in time, not by index
            assert tick.holding == ''
    assert tick.holding == 'queue empty' and ex.stalls == 1   # no chunk answered the request: a stall
    np.testing.assert_array_equal(tick.command, last_played)  # holds the last command sent, no extrapolation


def test_the_threshold_decides_when_the_next_chunk_is_requested():
    for g in (0.2, 0.5, 0.8):
        ex = executor(threshold=g)
        ex.on_state(np.zeros(6))
        ex.tick(0.0)
        chunk = ramp_chunk(0.0, np.zeros(6), speed=0.0, points=31)   # 1.0 s long
        ex.on_chunk(chunk, now=0.0)
        first_request = next(k * PERIOD for k in range(1, 60) if ex.tick(k * PERIOD).requested)
        assert first_request == pytest.approx((1 - g) * 1.0, abs=PERIOD + 1e-9), g


def test_the_request_carries_the_setpoints_still_to_execute():
    ex = executor(threshold=0.5)
    ex.on_state(np.zeros(6))
    ex.tick(0.0)
    ex.on_chunk(ramp_chunk(0.0, np.zeros(6)), now=0.0)
    tick = next(t for t in (ex.tick(k * PERIOD) for k in range(1, 60)) if t.requested)
    pending = tick.request
    assert pending.start == pytest.approx(0.5) and pending.end == pytest.approx(29 / 30)  # 0.47 / 0.97 < g
    np.testing.assert_allclose(pending.sample(0.6), np.full(6, 0.3 * 0.6))


def test_the_first_command_after_start_is_a_small_step_from_the_measured_position():
    ex = executor(ramp_speed=0.5)
    measured = np.full(6, -0.5)
    ex.on_state(measured)
    ex.on_chunk(ramp_chunk(0.0, np.full(6, 0.8), speed=0.0), now=0.0)  # a chunk far from where the arm is
    first = ex.tick(0.0).command
    assert np.max(np.abs(first - measured)) <= 0.5 * PERIOD + 1e-12


def test_a_silent_policy_is_stale_and_the_arm_holds():
    ex = executor(stale_after=0.5)
    ex.on_state(np.zeros(6))
    ex.tick(0.0)
    ex.on_chunk(ramp_chunk(0.0, np.zeros(6), points=5), now=0.0)
    holds = [ex.tick(k * PERIOD).holding for k in range(1, 60)]
    assert 'queue empty' in holds and holds[-1].startswith('stale policy: no chunk for 1.')


def test_emergency_stop_holds_and_ignores_chunks_until_reset_which_ramps_again():
    ex = executor(ramp_speed=0.5)
    ex.on_state(np.zeros(6))
    ex.tick(0.0)
    ex.on_chunk(ramp_chunk(0.0, np.zeros(6), speed=0.0), now=0.0)
    ex.tick(0.02)
    ex.emergency_stop('operator')
    held = ex.tick(0.04)
    assert held.holding == 'stopped: operator' and not held.requested
    assert ex.on_chunk(ramp_chunk(0.04, np.full(6, 1.0), speed=0.0), now=0.05) is None
    np.testing.assert_array_equal(ex.tick(0.06).command, held.command)
    ex.on_state(np.full(6, 0.2))           # the arm was moved while stopped
    ex.reset()
    after = ex.tick(0.08)
    assert after.requested and np.max(np.abs(after.command - 0.2)) <= 1e-12   # starts from where it is


def test_chunk_arrivals_feed_the_delay_estimate():
    ex = executor()
    ex.on_state(np.zeros(6))
    ex.tick(0.0)                                    # the request goes out at tick 0
    for k in range(1, 6):
        ex.tick(k * PERIOD)
    ex.on_chunk(ramp_chunk(0.0, np.zeros(6)), now=0.1)   # 5 ticks later, computed from an observation at 0
    assert ex.delay.round_trip(0.1) == pytest.approx(5 * PERIOD)
    assert ex.delay.latency(0.1) == pytest.approx(0.1)
    assert ex.status(0.1)['delay_estimate_s'] == pytest.approx(0.1)


def test_settings_are_checked():
    assert ExecutorSettings(aggregation='average', threshold=0.0).problems() == [
        "aggregation 'average' is not one of replace, temporal_ensemble, blend, rtc", 'threshold 0.0 is outside (0, 1]']


@pytest.mark.parametrize('offset, added', [(0.0, 0.0), (0.05, 0.05)])
def test_a_switch_is_graded_by_what_it_added_to_the_plans_own_step(offset, added):
    ex = executor()                                     # replace: a new chunk takes over at once
    start = np.full(6, 0.1)
    ex.on_state(start)
    ex.on_chunk(ramp_chunk(0.0, start, speed=2.0), now=0.0)   # a fast plan: 0.04 rad a tick
    for k in range(10):
        ex.tick(k * PERIOD)
    ex.on_chunk(ramp_chunk(0.19, start + 2.0 * 0.19 + offset, speed=2.0), now=0.19)
    ex.tick(0.2)
    s = ex.motion.summary()
    assert s['max_switch_jump_rad'] == pytest.approx(0.04 + offset)
    assert s['max_switch_added_rad'] == pytest.approx(added, abs=1e-9)
