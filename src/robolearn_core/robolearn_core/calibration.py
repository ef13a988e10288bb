"""Arm calibration (LeRobot's JSON, one file per arm) and THE conversion between the three joint units.

- raw ticks: what the STS3215 reports after its Homing_Offset (0..4095, 4096 a turn);
- radians: ROS topics (REP 103), zero at the middle of the calibrated range, every joint an angle;
- LeRobot units: datasets, ``<joint>.pos`` in degrees for the body joints and 0..100 for the gripper.

LeRobot's conventions (motors_bus normalisation, SO follower with ``use_degrees=True``):
``degrees = (ticks - mid) * 360 / 4095`` with ``mid = (range_min + range_max) / 2`` (not clamped, drive
mode ignored) and ``gripper = (clamp(ticks) - range_min) / (range_max - range_min) * 100`` (``100 - x`` with
drive_mode 1). Radians here use the same scale (4095 ticks per 2 pi), so radians <-> degrees is exactly
``* 180 / pi`` and a dataset written by LeRobot reads back to the angles it saw. Every other module
converts through this one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from robolearn_core.so_arm.joints import JOINT_NAMES

#: LeRobot's degree scale: (resolution - 1) ticks make 360 degrees.
TICKS_PER_RAD = 4095 / (2 * math.pi)
MAX_TICK = 4095
GRIPPER = 'gripper'


class CalibrationError(ValueError):
    """A calibration file that is missing, malformed, or does not fit the arm."""


@dataclass(frozen=True)
class MotorCalibration:
    """One servo, as LeRobot stores it."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int

    @property
    def mid(self) -> float:
        return (self.range_min + self.range_max) / 2


@dataclass(frozen=True)
class ArmCalibration:
    """The six SO servos' calibrations, keyed (and ordered) by joint name."""

    motors: Mapping[str, MotorCalibration]

    def __post_init__(self) -> None:
        problems = []
        missing = [n for n in JOINT_NAMES if n not in self.motors]
        unknown = [n for n in self.motors if n not in JOINT_NAMES]
        if missing:
            problems.append(f'missing joints {missing}')
        if unknown:
            problems.append(f'unknown joints {unknown} (expected {list(JOINT_NAMES)})')
        for name, m in self.motors.items():
            if not 0 <= m.range_min < m.range_max <= MAX_TICK:
                problems.append(
                    f'{name}: range_min {m.range_min} / range_max {m.range_max} must satisfy 0 <= min < max <= {MAX_TICK}'
                )
            if not -2047 <= m.homing_offset <= 2047:
                problems.append(f'{name}: homing_offset {m.homing_offset} is outside -2047..2047')
            if m.drive_mode not in (0, 1):
                problems.append(f'{name}: drive_mode {m.drive_mode} is not 0 or 1')
            if not 0 <= m.id <= 253:
                problems.append(f'{name}: id {m.id} is outside 0..253')
        ids = [m.id for m in self.motors.values()]
        if len(set(ids)) != len(ids):
            problems.append(f'servo ids repeat: {ids}')
        if problems:
            raise CalibrationError('invalid calibration: ' + '; '.join(problems) + '. Run `calibrate` to write a new one.')
        # Store in SO order so that every array below is indexed like JOINT_NAMES.
        object.__setattr__(self, 'motors', {n: self.motors[n] for n in JOINT_NAMES})
        arr = lambda f: np.array([f(self.motors[n]) for n in JOINT_NAMES], dtype=np.float64)  # noqa: E731
        object.__setattr__(self, '_min', arr(lambda m: m.range_min))
        object.__setattr__(self, '_max', arr(lambda m: m.range_max))
        object.__setattr__(self, '_mid', arr(lambda m: m.mid))
        object.__setattr__(self, '_gripper', JOINT_NAMES.index(GRIPPER))
        object.__setattr__(self, '_gripper_inverted', self.motors[GRIPPER].drive_mode == 1)

    # --- files -------------------------------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        return [m.id for m in self.motors.values()]

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]]) -> ArmCalibration:
        fields = ('id', 'drive_mode', 'homing_offset', 'range_min', 'range_max')
        motors = {}
        for name, entry in data.items():
            if not isinstance(entry, Mapping) or any(f not in entry for f in fields):
                raise CalibrationError(f'calibration entry {name!r} needs the keys {fields}; got {entry!r}')
            if any(isinstance(entry[f], bool) or not isinstance(entry[f], int) for f in fields):
                raise CalibrationError(f'calibration entry {name!r}: every value must be an integer; got {dict(entry)!r}')
            motors[name] = MotorCalibration(**{f: entry[f] for f in fields})
        return cls(motors)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {name: asdict(m) for name, m in self.motors.items()}

    @classmethod
    def load(cls, path: str | Path) -> ArmCalibration:
        # '~' expanded here, for every reader: `ros2 launch ... calibration_file:=~/x.json` and the YAML
        # defaults reach the nodes with it unexpanded
        path = Path(path).expanduser()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise CalibrationError(
                f'calibration file {path} does not exist: run `calibrate --port ... --role ... --output {path}`'
            ) from None
        except json.JSONDecodeError as e:
            raise CalibrationError(f'calibration file {path} is not valid JSON ({e}); run `calibrate` to rewrite it') from None
        if not isinstance(data, dict):
            raise CalibrationError(f'calibration file {path}: expected a JSON object keyed by joint name')
        try:
            return cls.from_dict(data)
        except CalibrationError as e:
            raise CalibrationError(f'{path}: {e}') from None

    def save(self, path: str | Path) -> None:
        """Write atomically (a crash never leaves half a file), in LeRobot's layout."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_text(json.dumps(self.to_dict(), indent=4) + '\n')
        tmp.replace(path)

    # --- conversions (arrays indexed like JOINT_NAMES) -------------------------------------------
    def ticks_to_radians(self, ticks: np.ndarray) -> np.ndarray:
        return (np.asarray(ticks, dtype=np.float64) - self._mid) / TICKS_PER_RAD

    def radians_to_ticks(self, radians: np.ndarray) -> np.ndarray:
        """Goal ticks (int, rounded, inside 0..4095) for joint angles."""
        ticks = np.rint(np.asarray(radians, dtype=np.float64) * TICKS_PER_RAD + self._mid)
        return np.clip(ticks, 0, MAX_TICK).astype(np.int64)

    def limits_radians(self) -> tuple[np.ndarray, np.ndarray]:
        """The calibrated range of every joint, rad (lower, upper)."""
        return self.ticks_to_radians(self._min), self.ticks_to_radians(self._max)

    def ticks_to_lerobot(self, ticks: np.ndarray) -> np.ndarray:
        """LeRobot's normalisation: degrees (body), 0..100 (gripper, clamped to the range)."""
        ticks = np.asarray(ticks, dtype=np.float64)
        out = (ticks - self._mid) * 360.0 / MAX_TICK
        g = self._gripper
        pct = (np.clip(ticks[..., g], self._min[g], self._max[g]) - self._min[g]) / (self._max[g] - self._min[g]) * 100.0
        out[..., g] = 100.0 - pct if self._gripper_inverted else pct
        return out

    def lerobot_to_ticks(self, values: np.ndarray) -> np.ndarray:
        """Float ticks for LeRobot values (LeRobot itself truncates to int when it writes a goal)."""
        values = np.asarray(values, dtype=np.float64)
        ticks = values * MAX_TICK / 360.0 + self._mid
        g = self._gripper
        pct = np.clip(values[..., g], 0.0, 100.0)
        pct = 100.0 - pct if self._gripper_inverted else pct
        ticks[..., g] = pct / 100.0 * (self._max[g] - self._min[g]) + self._min[g]
        return ticks

    def radians_to_lerobot(self, radians: np.ndarray) -> np.ndarray:
        """Topic radians -> dataset values (degrees; gripper 0..100, clamped to the calibrated range)."""
        return self.ticks_to_lerobot(np.asarray(radians, dtype=np.float64) * TICKS_PER_RAD + self._mid)

    def lerobot_to_radians(self, values: np.ndarray) -> np.ndarray:
        """Dataset values -> topic radians (inverse of radians_to_lerobot inside the calibrated range)."""
        return self.ticks_to_radians(self.lerobot_to_ticks(values))
