"""LeRobot's SO-arm calibration procedure, as steps a front end (the `calibrate` command) walks through.

1. ``prepare``: torque off, position mode, LeRobot's gains and zero return delay.
2. the person puts the arm in the middle of its range; ``set_half_turn_homing`` writes Homing_Offset so
   that this pose reads 2047 on every servo.
3. the person moves every joint through its whole range; ``RangeRecorder`` keeps min and max
   (wrist_roll turns fully and is taken as 0..4095, as LeRobot does).
4. ``finish`` writes the limits to the servos and returns the ArmCalibration to save.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robolearn_core.calibration import MAX_TICK, ArmCalibration, CalibrationError, MotorCalibration
from robolearn_core.feetech.bus import FeetechBus
from robolearn_core.so_arm.joints import JOINT_NAMES

FULL_TURN_JOINTS = ('wrist_roll',)
#: LeRobot's SO follower settings: P 16 (less shaking than the factory 32), I 0, D 32; replies at once.
SETTINGS = {'Operating_Mode': 0, 'Return_Delay_Time': 0, 'P_Coefficient': 16, 'I_Coefficient': 0, 'D_Coefficient': 32}


def check_servos(bus: FeetechBus, ids: Sequence[int]) -> None:
    missing = [i for i in ids if not bus.ping(i)]
    if missing:
        raise CalibrationError(
            f'servo(s) {missing} do not answer on {bus.port}: check power and cabling, and that the IDs are 1..6'
        )


def prepare(bus: FeetechBus, ids: Sequence[int]) -> None:
    for i in ids:
        bus.write_eeprom(i, SETTINGS)


def set_half_turn_homing(bus: FeetechBus, ids: Sequence[int]) -> dict[int, int]:
    """Make the present pose read 2047: Homing_Offset = raw position - 2047. Returns {id: offset}."""
    for i in ids:
        bus.write_eeprom(i, {'Homing_Offset': 0})
    raw = bus.sync_read_register('Present_Position', ids)
    offsets = {i: raw[i] - 2047 for i in ids}
    for i in ids:
        bus.write_eeprom(i, {'Homing_Offset': offsets[i]})
    return offsets


class RangeRecorder:
    """Min and max Present_Position of each servo over repeated ``sample()`` calls."""

    def __init__(self, bus: FeetechBus, ids: Sequence[int]) -> None:
        self.bus, self.ids = bus, list(ids)
        self.lo = np.full(len(self.ids), MAX_TICK + 1)
        self.hi = np.full(len(self.ids), -1)
        self.samples = 0

    def sample(self) -> np.ndarray:
        got = self.bus.sync_read_register('Present_Position', self.ids)
        ticks = np.array([got[i] for i in self.ids])
        self.lo, self.hi = np.minimum(self.lo, ticks), np.maximum(self.hi, ticks)
        self.samples += 1
        return ticks


def finish(
    bus: FeetechBus,
    ids: Sequence[int],
    offsets: dict[int, int],
    recorder: RangeRecorder,
    joint_names: Sequence[str] = JOINT_NAMES,
) -> ArmCalibration:
    """Check the recorded ranges, write them as position limits, and return the calibration."""
    motors, unmoved = {}, []
    for k, (name, i) in enumerate(zip(joint_names, ids)):
        lo, hi = (0, MAX_TICK) if name in FULL_TURN_JOINTS else (int(recorder.lo[k]), int(recorder.hi[k]))
        if name not in FULL_TURN_JOINTS and hi - lo < 20:
            unmoved.append(name)
        motors[name] = MotorCalibration(id=i, drive_mode=0, homing_offset=offsets[i], range_min=lo, range_max=hi)
    if unmoved:
        raise CalibrationError(
            f'joint(s) {unmoved} did not move (range under 20 ticks): run calibrate again and move every joint end to end'
        )
    calibration = ArmCalibration(motors)
    for m in calibration.motors.values():
        bus.write_eeprom(m.id, {'Min_Position_Limit': m.range_min, 'Max_Position_Limit': m.range_max})
    return calibration
