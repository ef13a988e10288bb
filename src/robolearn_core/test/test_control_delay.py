"""The delay estimate follows what was measured and forgets one slow call (not a running maximum)."""

import pytest

from robolearn_core.control.delay import DelayEstimator


def steady(calls: int = 20, latency: float = 0.05) -> tuple[DelayEstimator, float]:
    """An estimator that has seen ``calls`` chunks every 0.5 s, each ``latency`` s after its observation."""
    est = DelayEstimator(window=20, percentile=90)
    t = 0.0
    for _ in range(calls):
        t += 0.5
        est.observe_chunk(t - latency, t)
    return est, t


def test_one_slow_call_among_50ms_calls_is_forgotten_within_a_bounded_number_of_calls():
    est, t = steady()
    t += 1.0
    est.observe_chunk(t - 1.0, t)  # a warm-up or a GC pause
    # ten or more normal calls in the window: the outlier is never the 90th percentile
    assert est.estimate(t) == pytest.approx(0.05, abs=1e-9)
    est.observe_chunk(t + 0.45, t + 0.5)
    assert est.estimate(t + 0.5) == pytest.approx(0.05, abs=1e-9)


def test_a_slow_first_call_stops_counting_at_the_next_call_and_leaves_after_a_window():
    est = DelayEstimator(window=20, percentile=90)
    est.observe_chunk(0.0, 1.0)  # a warm-up as the very first call: nothing else to compare it with
    assert est.estimate(1.0) == pytest.approx(1.0)
    est.observe_chunk(1.45, 1.5)
    assert est.estimate(1.5) == pytest.approx(0.05)  # one call later: back at 50 ms
    for i in range(2, 21):
        est.observe_chunk(1.0 + i * 0.5 - 0.05, 1.0 + i * 0.5)
    assert est.latency(11.0) == pytest.approx(0.05)
    # ... and without ignoring the slowest it would count until the window is one tenth full
    plain = DelayEstimator(window=20, percentile=90, ignore_slowest=0)
    plain.observe_chunk(0.0, 1.0)
    plain.observe_chunk(1.45, 1.5)
    assert plain.estimate(1.5) > 0.5


def test_a_real_slow_down_moves_the_estimate_within_a_few_calls():
    est, t = steady()
    calls = 0
    while est.estimate(t) < 0.2:
        t += 0.5
        est.observe_chunk(t - 0.3, t)  # every call now takes 300 ms
        calls += 1
    assert calls <= 4


def test_old_measurements_age_out_by_time_but_the_newest_stays():
    est = DelayEstimator(window=20, max_age=5.0)
    est.observe_chunk(0.0, 0.3)
    est.observe_chunk(1.0, 1.3)
    for i in range(3):
        est.observe_chunk(10.0 + i, 10.05 + i)
    assert est.estimate(12.05) == pytest.approx(0.05)
    assert est.estimate(1000.0) == pytest.approx(0.05)  # idle: the newest measurement is kept


def test_round_trip_from_consumed_ticks_and_the_floor():
    est = DelayEstimator(floor=0.02, initial=0.1)
    assert est.estimate(0.0) == 0.1  # nothing measured yet
    est.observe_chunk(0.99, 1.0)
    assert est.estimate(1.0) == pytest.approx(0.02)  # 10 ms measured, the floor is 20 ms
    est.observe_request(consumed_ticks=6, tick_period=0.02, now=1.0)
    assert est.round_trip(1.0) == pytest.approx(0.12)
    assert est.estimate(1.0) == pytest.approx(0.12)  # the larger of the two
    est.reset()
    assert est.latency(1.0) is None and est.estimate(1.0) == 0.1


def test_parameters_are_checked():
    with pytest.raises(ValueError, match='percentile'):
        DelayEstimator(percentile=0)
    with pytest.raises(ValueError, match='ignore_slowest'):
        DelayEstimator(window=1)
    with pytest.raises(ValueError, match='window size'):
        DelayEstimator(window=0, ignore_slowest=0)
