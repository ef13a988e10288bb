"""Calibration JSON and the one conversion module: ticks <-> radians <-> LeRobot units."""

import json
import math

import numpy as np
import pytest

from robolearn_core.calibration import TICKS_PER_RAD, ArmCalibration, CalibrationError
from robolearn_core.so_arm.joints import JOINT_NAMES


def make(ranges, gripper_drive_mode=0):
    return ArmCalibration.from_dict({
        name: {'id': i + 1, 'drive_mode': gripper_drive_mode if name == 'gripper' else 0,
               'homing_offset': 10 * i - 20, 'range_min': lo, 'range_max': hi}
        for i, (name, (lo, hi)) in enumerate(zip(JOINT_NAMES, ranges))
    })


RANGES = [(1000, 3000), (800, 3200), (900, 3100), (700, 3300), (0, 4095), (2000, 3000)]


def test_lerobot_units_follow_lerobots_formulas():
    cal = make(RANGES)
    ticks = np.array([2500, 2000, 2000, 3300, 0, 2250])
    out = cal.ticks_to_lerobot(ticks)
    # degrees = (raw - mid) * 360 / 4095, mid = (min + max) / 2 (hand-computed)
    assert out[0] == pytest.approx(500 * 360 / 4095)
    assert out[1] == pytest.approx(0.0)
    assert out[3] == pytest.approx(1300 * 360 / 4095)
    assert out[4] == pytest.approx(-2047.5 * 360 / 4095)
    # gripper = (raw - min) / (max - min) * 100
    assert out[5] == pytest.approx(25.0)
    assert cal.ticks_to_lerobot(np.array([2000, 2000, 2000, 2000, 2000, 1500]))[5] == 0.0  # clamped
    assert make(RANGES, gripper_drive_mode=1).ticks_to_lerobot(ticks)[5] == pytest.approx(75.0)


def test_radians_are_degrees_times_pi_over_180_and_zero_at_the_middle():
    cal = make(RANGES)
    mids = np.array([(lo + hi) / 2 for lo, hi in RANGES])
    np.testing.assert_allclose(cal.ticks_to_radians(mids), 0.0)
    ticks = np.array([2500, 1200, 3000, 1000, 4000, 2600])
    rad = cal.ticks_to_radians(ticks)
    deg = cal.ticks_to_lerobot(ticks)
    np.testing.assert_allclose(np.degrees(rad[:5]), deg[:5])
    assert rad[0] == pytest.approx(500 / TICKS_PER_RAD)
    assert TICKS_PER_RAD * 2 * math.pi == pytest.approx(4095)


def test_round_trips():
    cal = make(RANGES, gripper_drive_mode=1)
    rng = np.random.default_rng(0)
    ticks = np.array([rng.integers(lo, hi + 1) for lo, hi in RANGES])
    np.testing.assert_array_equal(cal.radians_to_ticks(cal.ticks_to_radians(ticks)), ticks)
    rad = cal.ticks_to_radians(ticks)
    np.testing.assert_allclose(cal.lerobot_to_radians(cal.radians_to_lerobot(rad)), rad, atol=1e-9)
    values = np.array([10.0, -20.0, 30.0, -40.0, 170.0, 42.0])
    np.testing.assert_allclose(cal.radians_to_lerobot(cal.lerobot_to_radians(values)), values, atol=1e-9)
    # batches (frames x joints) convert row by row
    batch = np.stack([values, values * 0.5])
    np.testing.assert_allclose(cal.radians_to_lerobot(cal.lerobot_to_radians(batch)), batch, atol=1e-9)


def test_limits_and_goal_ticks_are_clipped_to_the_encoder():
    cal = make(RANGES)
    lo, hi = cal.limits_radians()
    np.testing.assert_array_equal(cal.radians_to_ticks(lo), [r[0] for r in RANGES])
    np.testing.assert_array_equal(cal.radians_to_ticks(hi), [r[1] for r in RANGES])
    assert cal.radians_to_ticks(np.full(6, 100.0)).max() == 4095


def test_json_round_trip_in_lerobots_layout(tmp_path):
    cal = make(RANGES)
    path = tmp_path / 'arm.json'
    cal.save(path)
    data = json.loads(path.read_text())
    assert list(data) == list(JOINT_NAMES)
    assert data['gripper'] == {'id': 6, 'drive_mode': 0, 'homing_offset': 30, 'range_min': 2000, 'range_max': 3000}
    assert ArmCalibration.load(path) == cal


@pytest.mark.parametrize('mutate,message', [
    (lambda d: d.pop('elbow_flex'), "missing joints \\['elbow_flex'\\]"),
    (lambda d: d['wrist_flex'].update(range_min=3400), 'wrist_flex: range_min 3400'),
    (lambda d: d['gripper'].update(homing_offset=3000), 'homing_offset 3000'),
    (lambda d: d['gripper'].update(id=1), 'servo ids repeat'),
    (lambda d: d['gripper'].update(range_max='3000'), 'must be an integer'),
    (lambda d: d.update(elbow=d['gripper']), 'unknown joints'),
])
def test_bad_calibrations_are_named(tmp_path, mutate, message):
    data = make(RANGES).to_dict()
    mutate(data)
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=message):
        ArmCalibration.load(path)


def test_missing_and_broken_files_say_how_to_fix(tmp_path):
    with pytest.raises(CalibrationError, match='does not exist: run `calibrate'):
        ArmCalibration.load(tmp_path / 'nope.json')
    (tmp_path / 'broken.json').write_text('{"shoulder_pan": ')
    with pytest.raises(CalibrationError, match='not valid JSON'):
        ArmCalibration.load(tmp_path / 'broken.json')


def test_load_expands_the_home_directory(tmp_path, monkeypatch):
    """Launch arguments and YAML defaults hand nodes '~/...' paths unexpanded."""
    monkeypatch.setenv('HOME', str(tmp_path))
    make(RANGES).save(tmp_path / 'arm.json')
    assert ArmCalibration.load('~/arm.json').to_dict() == make(RANGES).to_dict()
