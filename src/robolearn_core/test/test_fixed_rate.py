"""The absolute schedule: late ticks do not shift later ones; a starved loop skips and counts, never bursts."""

import threading
import time

import pytest

from robolearn_core.control.fixed_rate import FixedRateSchedule


class FakeClock:
    """A clock the test moves by hand (the schedule's arithmetic, not the machine's timing, is under test)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_ticks_are_due_on_the_grid_whatever_their_lateness():
    clock = FakeClock()
    s = FixedRateSchedule(50.0, clock)
    clock.t += 0.004                      # tick 0 runs 4 ms late
    t0 = s.take(clock())
    assert (t0.index, t0.missed) == (0, 0) and t0.late == pytest.approx(0.004)
    assert s.next_due() == pytest.approx(100.02)  # not 100.024: lateness does not accumulate
    clock.t = 100.0215
    t1 = s.take(clock())
    assert (t1.index, t1.due, t1.missed) == (1, pytest.approx(100.02), 0)


def test_a_starved_loop_skips_the_ticks_that_passed_and_counts_them():
    clock = FakeClock()
    s = FixedRateSchedule(100.0, clock)
    s.take(clock())
    clock.t += 0.0355                     # ticks 1, 2 and 3 passed while the process had no CPU
    t = s.take(clock())
    assert (t.index, t.missed) == (3, 2)
    assert t.due == pytest.approx(100.03) and t.late == pytest.approx(0.0055)
    assert s.missed_total == 2
    assert s.next_due() == pytest.approx(100.04)


def test_restart_puts_tick_zero_at_the_new_origin():
    clock = FakeClock()
    s = FixedRateSchedule(30.0, clock)
    s.take(clock())
    s.restart(200.0)
    clock.t = 200.0
    assert s.take(clock()).index == 0


def test_lateness_statistics_in_ms():
    clock = FakeClock()
    s = FixedRateSchedule(10.0, clock)
    for late in (0.001, 0.002, 0.010):
        clock.t = s.next_due() + late
        s.take(clock())
    stats = s.lateness_ms()
    assert stats['p50'] == pytest.approx(2.0) and stats['max'] == pytest.approx(10.0)


def test_wait_sleeps_until_due_and_returns_none_once_stopped():
    s = FixedRateSchedule(200.0)
    stop = threading.Event()
    start = time.monotonic()
    ticks = [s.wait(stop) for _ in range(5)]
    assert [t.index for t in ticks] == [0, 1, 2, 3, 4]
    assert time.monotonic() - start >= 4 * 0.005 - 1e-3   # tick 4 is due 20 ms after tick 0
    stop.set()
    assert s.wait(stop) is None


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match='rate must be > 0'):
        FixedRateSchedule(0.0)
