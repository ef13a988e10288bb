"""The queue on constructed overlaps: what each aggregation mode gives, what is dropped, when it asks for more."""

import numpy as np
import pytest

from robolearn_core.control.action_queue import ActionQueue
from robolearn_core.control.chunk import Chunk

FPS = 30


def flat(stamp: float, value: float, n: int = 30) -> Chunk:
    """n setpoints at 1/FPS, every joint at ``value``."""
    return Chunk.from_fps(stamp, np.full((n, 2), value), FPS)


def ramp(stamp: float, slope: float, n: int = 30) -> Chunk:
    """Joint 0 at slope * (t - stamp), joint 1 at 0."""
    t = np.arange(n) / FPS
    return Chunk.from_fps(stamp, np.stack([slope * t, 0 * t], axis=1), FPS)


def test_empty_and_exhausted_queues_give_nothing():
    q = ActionQueue()
    assert q.sample(0.0) is None and q.remaining(0.0) == 0.0 and q.needs_request(0.0) and q.pending(0.0) is None
    q.merge(flat(0.0, 1.0), now=0.0)
    assert q.sample(0.5)[0] == 1.0
    assert q.sample(29 / FPS + 0.01) is None  # never extrapolated past the end
    assert q.pending(2.0) is None


def test_the_past_part_of_a_chunk_is_dropped_using_now():
    q = ActionQueue()
    report = q.merge(ramp(1.0, 1.0), now=1.1)  # arrives 100 ms after its observation
    assert report.dropped == 3  # points at 0, 33 and 67 ms are past; the one at 100 ms is due now
    assert q.sample(1.09) is None
    assert q.sample(1.1)[0] == pytest.approx(0.1)
    assert q.remaining(1.1) == pytest.approx(29 / FPS - 0.1)
    report = q.merge(ramp(0.0, 1.0), now=1.15)  # wholly in the past: nothing changes
    assert report.dropped == 30 and q.sample(1.2)[0] == pytest.approx(0.2)


def test_threshold_and_horizon():
    q = ActionQueue(threshold=0.5)
    q.merge(flat(0.0, 0.0), now=0.0)
    assert q.horizon == pytest.approx(29 / FPS)
    assert not q.needs_request(0.0)
    assert not q.needs_request(0.4 * q.horizon)
    assert q.needs_request(0.51 * q.horizon)
    with pytest.raises(ValueError, match='threshold'):
        ActionQueue(threshold=0.0)
    with pytest.raises(ValueError, match='aggregation mode'):
        ActionQueue(mode='average')


def test_replace_switches_at_now_and_reports_the_jump():
    q = ActionQueue('replace')
    q.merge(flat(0.0, 0.0), now=0.0)
    report = q.merge(flat(0.4, 1.0), now=0.5)
    assert report.switch_time == 0.5 and report.jump == pytest.approx(1.0)
    assert report.overlap == pytest.approx(29 / FPS - 0.5)
    assert report.dropped == 3
    assert q.sample(0.5)[0] == 1.0 and q.sample(1.2)[0] == 1.0 and q.end == pytest.approx(0.4 + 29 / FPS)


def test_temporal_ensemble_weights_the_oldest_prediction_most():
    m = 0.1
    q = ActionQueue('temporal_ensemble', ensemble_m=m, fps=FPS)
    q.merge(flat(0.0, 0.0), now=0.0)
    q.merge(flat(0.2, 1.0), now=0.25)  # observed 6 dataset steps later
    q.merge(flat(0.4, 2.0), now=0.45)  # 12 steps later
    w = np.exp(-m * np.array([0, 6, 12]))
    assert q.sample(0.5)[0] == pytest.approx((w * [0, 1, 2]).sum() / w.sum())
    # after the oldest chunk ends only the two younger vote, the older of them weighted 1
    t = 29 / FPS + 0.1
    assert q.sample(t)[0] == pytest.approx((1 * 1 + np.exp(-m * 6) * 2) / (1 + np.exp(-m * 6)))
    # the weights depend on the observation stamps, not on the chunks' grids or arrival order
    assert q.sample(0.4 + 29 / FPS)[0] == pytest.approx(2.0)


def test_temporal_ensemble_with_negative_m_weights_the_newest_prediction_most():
    m = -0.1
    q = ActionQueue('temporal_ensemble', ensemble_m=m, fps=FPS)
    q.merge(flat(0.0, 0.0), now=0.0)
    q.merge(flat(0.2, 1.0), now=0.25)
    q.merge(flat(0.4, 2.0), now=0.45)
    w = np.exp(0.1 * np.array([0, 6, 12]))
    assert q.sample(0.5)[0] == pytest.approx((w * [0, 1, 2]).sum() / w.sum())
    assert q.sample(0.5)[0] > 1.0  # the newest chunk (2.0) pulls hardest


def test_temporal_ensemble_refuses_an_m_that_gives_one_chunk_everything():
    with pytest.raises(ValueError, match='ensemble_m'):
        ActionQueue('temporal_ensemble', ensemble_m=-2.0)


def test_temporal_ensemble_with_m_zero_is_a_plain_average():
    q = ActionQueue('temporal_ensemble', ensemble_m=0.0)
    q.merge(flat(0.0, 0.0), now=0.0)
    report = q.merge(flat(0.1, 1.0), now=0.2)
    assert q.sample(0.3)[0] == pytest.approx(0.5) and report.jump == pytest.approx(1.0)
    pending = q.pending(0.3)
    assert pending.start == 0.3 and pending.positions[0, 0] == pytest.approx(0.5)
    assert pending.positions[-1, 0] == pytest.approx(1.0)


def test_blend_crossfades_over_the_window_without_a_step_at_the_switch():
    q = ActionQueue('blend', blend_window=0.2)
    q.merge(flat(0.0, 0.0), now=0.0)
    report = q.merge(flat(0.3, 1.0), now=0.4)
    assert report.jump == pytest.approx(1.0) and report.switch_time == 0.4
    assert q.sample(0.4)[0] == pytest.approx(0.0)
    assert q.sample(0.5)[0] == pytest.approx(0.5, abs=1e-3)   # smoothstep midpoint
    assert q.sample(0.6)[0] == pytest.approx(1.0)
    values = np.array([q.sample(0.4 + i * 0.02)[0] for i in range(11)])
    steps = np.diff(values)
    assert np.all(steps >= 0) and steps[0] < 0.05 and steps.max() < 0.16  # smooth: 1.5/10 per tick at most


def test_a_fade_that_outlasts_the_queued_plan_holds_its_last_setpoint():
    q = ActionQueue('blend', blend_window=0.2)
    q.merge(ramp(0.0, 1.0, n=10), now=0.0)      # rises to 0.3 at 0.3 s, then nothing
    q.merge(flat(0.28, 1.0), now=0.29)          # arrives one tick before the plan runs out
    values = np.array([q.sample(0.29 + 0.02 * i)[0] for i in range(12)])
    assert values[0] == pytest.approx(0.29) and q.sample(0.49)[0] == pytest.approx(1.0)
    assert np.all(np.diff(values) >= 0) and np.diff(values).max() < 0.11  # 0.7 over 10 ticks, smoothstep: <= 1.5x


def test_rtc_keeps_the_queued_setpoints_until_the_estimated_delay():
    q = ActionQueue('rtc', blend_window=0.2)
    q.merge(ramp(0.0, 1.0), now=0.0)
    # the new chunk's observation was at 0.4 s; it arrived early (0.45 s) but 150 ms is planned for
    report = q.merge(flat(0.4, 5.0), now=0.45, delay=0.15)
    assert report.switch_time == pytest.approx(0.55)
    assert q.sample(0.45)[0] == pytest.approx(0.45) and q.sample(0.5)[0] == pytest.approx(0.5)
    # from there a crossfade over blend_window (0.2 s) to what guidance left of a disagreement, then the new chunk
    assert 0.56 < q.sample(0.56)[0] < 1.0 and 0.65 < q.sample(0.65)[0] < 5.0
    assert q.sample(0.75)[0] == pytest.approx(5.0)
    # a late chunk (the delay already passed): the crossfade starts at once
    q.reset()
    q.merge(ramp(0.0, 1.0), now=0.0)
    report = q.merge(flat(0.4, 5.0), now=0.6, delay=0.15)
    assert report.switch_time == 0.6 and q.sample(0.6)[0] == pytest.approx(0.6) and q.sample(0.8)[0] == pytest.approx(5.0)


def test_rtc_with_a_continuing_chunk_has_no_jump():
    q = ActionQueue('rtc')
    q.merge(ramp(0.0, 1.0), now=0.0)
    continuing = ramp(0.0, 1.0, n=60).after(0.4)  # the same line, from the new observation on
    continuing = Chunk(0.4, continuing.times - 0.4 + 0.0, continuing.positions)
    report = q.merge(continuing, now=0.5, delay=0.1)
    assert report.jump == pytest.approx(0.0, abs=1e-9)
    values = np.array([q.sample(0.5 + 0.02 * i)[0] for i in range(40)])
    np.testing.assert_allclose(np.diff(values), 0.02, atol=1e-9)


def test_reset_forgets_everything():
    q = ActionQueue()
    q.merge(flat(0.0, 1.0), now=0.0)
    q.reset()
    assert q.sample(0.1) is None and q.horizon == 0.0 and q.needs_request(0.1)


def test_a_chunk_arriving_just_after_the_plan_ran_out_fades_from_where_it_ended():
    q = ActionQueue('blend', blend_window=0.2)
    q.merge(ramp(0.0, 1.0, n=10), now=0.0)      # rises to 0.3 at 0.3 s, then the executor holds 0.3
    assert q.sample(0.32) is None               # nothing is extrapolated meanwhile
    q.merge(flat(0.25, 1.0), now=0.32)
    assert q.sample(0.32)[0] == pytest.approx(0.3) and q.sample(0.52)[0] == pytest.approx(1.0)
    steps = np.diff([q.sample(0.32 + 0.02 * i)[0] for i in range(11)])
    assert np.all(steps >= 0) and steps.max() < 0.11
    q.reset()                                   # a new episode: nothing to fade from (the safety filter ramps)
    q.merge(flat(0.0, 1.0), now=0.0)
    assert q.sample(0.0)[0] == pytest.approx(1.0)
