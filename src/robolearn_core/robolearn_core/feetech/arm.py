"""One SO-100/SO-101 arm on a Feetech bus, in joint radians: what the driver node and the tools call.

Connect (all six servos must answer and carry the calibration's Homing_Offset), read the joint state in
one sync read, write goals in one sync write, switch torque without a jump (the goal is set to where the
arm is before torque comes on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_core.calibration import TICKS_PER_RAD, ArmCalibration
from robolearn_core.feetech.bus import BusError, FeetechBus
from robolearn_core.feetech.control_table import REGISTERS

_POS, _SPEED, _LOAD = REGISTERS['Present_Position'], REGISTERS['Present_Speed'], REGISTERS['Present_Load']


class ArmError(BusError):
    """The arm cannot be used as configured (servos missing, calibration not matching); says how to fix it."""


@dataclass
class JointState:
    position: np.ndarray  # rad
    velocity: np.ndarray  # rad/s
    effort: np.ndarray  # fraction of the servo's maximum torque, -1..1


@dataclass
class Health:
    voltage: np.ndarray  # V
    temperature: np.ndarray  # deg C


class Arm:
    """Six calibrated servos on ``bus``, indexed like the calibration's joints (SO order)."""

    def __init__(self, bus: FeetechBus, calibration: ArmCalibration) -> None:
        self.bus = bus
        self.calibration = calibration
        self.ids = calibration.ids
        self.lower, self.upper = calibration.limits_radians()

    def connect(self) -> None:
        """Open the port and check the servos: raises BusDisconnected or ArmError naming the problem."""
        self.bus.open()
        try:
            missing = [i for i in self.ids if not self.bus.ping(i)]
            if missing:
                raise ArmError(
                    f'servo(s) {missing} of {self.ids} do not answer on {self.bus.port}: check power, cabling, '
                    'the IDs (LeRobot setup-motors) and that this is the right port'
                )
            offsets = self.bus.sync_read_register('Homing_Offset', self.ids)
            wrong = {
                name: (offsets[m.id], m.homing_offset)
                for name, m in self.calibration.motors.items()
                if offsets[m.id] != m.homing_offset
            }
            if wrong:
                detail = ', '.join(f'{n}: servo {got}, file {want}' for n, (got, want) in wrong.items())
                raise ArmError(
                    f'the servos on {self.bus.port} do not carry this calibration (Homing_Offset {detail}): '
                    'run `calibrate` for this arm, or pass the calibration file of the arm on this port'
                )
        except BaseException:
            self.bus.close()
            raise

    def read_state(self) -> JointState:
        data = self.bus.sync_read(_POS.address, _POS.size + _SPEED.size + _LOAD.size, self.ids)
        rows = [data[i] for i in self.ids]
        ticks = np.array([_POS.decode(r[0:2]) for r in rows], dtype=np.float64)
        speed = np.array([_SPEED.decode(r[2:4]) for r in rows], dtype=np.float64)
        load = np.array([_LOAD.decode(r[4:6]) for r in rows], dtype=np.float64)
        return JointState(self.calibration.ticks_to_radians(ticks), speed / TICKS_PER_RAD, load / 1000.0)

    def read_health(self) -> Health:
        data = self.bus.sync_read(REGISTERS['Present_Voltage'].address, 2, self.ids)
        return Health(
            np.array([data[i][0] / 10.0 for i in self.ids]),
            np.array([float(data[i][1]) for i in self.ids]),
        )

    def write_goals(self, radians: np.ndarray) -> None:
        """Goal positions, clamped to the calibrated range (the caller limits the step)."""
        ticks = self.calibration.radians_to_ticks(np.clip(radians, self.lower, self.upper))
        self.bus.sync_write_register('Goal_Position', dict(zip(self.ids, (int(t) for t in ticks))))

    def set_torque(self, enabled: bool) -> np.ndarray | None:
        """Torque on (holding where the arm is now; returns that position) or off (returns None)."""
        if not enabled:
            self.bus.sync_write_register('Torque_Enable', {i: 0 for i in self.ids})
            return None
        here = self.read_state().position
        self.write_goals(here)
        self.bus.sync_write_register('Torque_Enable', {i: 1 for i in self.ids})
        # A sync write has no reply: read the flag back, so "torque on" is never assumed.
        off = [i for i, v in self.bus.sync_read_register('Torque_Enable', self.ids).items() if v != 1]
        if off:
            raise ArmError(f'servo(s) {off} on {self.bus.port} did not switch torque on')
        return np.clip(here, self.lower, self.upper)
