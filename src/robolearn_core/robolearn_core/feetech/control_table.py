"""STS3215 control table: the registers the SO arms use, their sizes and value encodings.

Names follow LeRobot's (so calibration and logs read the same). Shared by the bus and the simulated bus.
"""

from __future__ import annotations

from dataclasses import dataclass

from robolearn_core.feetech.protocol import decode_sign_magnitude, encode_sign_magnitude, from_bytes, to_bytes

#: STS3215's model number (register Model_Number).
STS3215_MODEL = 777
#: Encoder steps in one turn.
RESOLUTION = 4096


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    size: int
    sign_bit: int | None = None  # sign-magnitude encoded, sign in this bit
    eeprom: bool = False
    read_only: bool = False

    def encode(self, value: int) -> bytes:
        raw = encode_sign_magnitude(value, self.sign_bit) if self.sign_bit is not None else int(value)
        if not 0 <= raw < 1 << (8 * self.size):
            raise ValueError(f'{self.name}: {value} does not fit {self.size} byte(s)')
        return to_bytes(raw, self.size)

    def decode(self, data: bytes) -> int:
        raw = from_bytes(data)
        return decode_sign_magnitude(raw, self.sign_bit) if self.sign_bit is not None else raw


_REGISTERS = [
    Register('Firmware_Major_Version', 0, 1, read_only=True, eeprom=True),
    Register('Firmware_Minor_Version', 1, 1, read_only=True, eeprom=True),
    Register('Model_Number', 3, 2, read_only=True, eeprom=True),
    Register('ID', 5, 1, eeprom=True),
    Register('Baud_Rate', 6, 1, eeprom=True),
    Register('Return_Delay_Time', 7, 1, eeprom=True),
    Register('Response_Status_Level', 8, 1, eeprom=True),
    Register('Min_Position_Limit', 9, 2, eeprom=True),
    Register('Max_Position_Limit', 11, 2, eeprom=True),
    Register('Max_Temperature_Limit', 13, 1, eeprom=True),
    Register('Max_Voltage_Limit', 14, 1, eeprom=True),
    Register('Min_Voltage_Limit', 15, 1, eeprom=True),
    Register('Max_Torque_Limit', 16, 2, eeprom=True),
    Register('P_Coefficient', 21, 1, eeprom=True),
    Register('D_Coefficient', 22, 1, eeprom=True),
    Register('I_Coefficient', 23, 1, eeprom=True),
    Register('Protection_Current', 28, 2, eeprom=True),
    Register('Homing_Offset', 31, 2, sign_bit=11, eeprom=True),
    Register('Operating_Mode', 33, 1, eeprom=True),
    Register('Overload_Torque', 36, 1, eeprom=True),
    Register('Torque_Enable', 40, 1),
    Register('Acceleration', 41, 1),
    Register('Goal_Position', 42, 2),
    Register('Goal_Time', 44, 2),
    Register('Goal_Speed', 46, 2, sign_bit=15),
    Register('Torque_Limit', 48, 2),
    Register('Lock', 55, 1),
    Register('Present_Position', 56, 2, read_only=True),
    Register('Present_Speed', 58, 2, sign_bit=15, read_only=True),
    Register('Present_Load', 60, 2, sign_bit=10, read_only=True),
    Register('Present_Voltage', 62, 1, read_only=True),
    Register('Present_Temperature', 63, 1, read_only=True),
    Register('Status', 65, 1, read_only=True),
    Register('Moving', 66, 1, read_only=True),
    Register('Present_Current', 69, 2, read_only=True),
]

REGISTERS: dict[str, Register] = {r.name: r for r in _REGISTERS}

#: First address of SRAM (written without unlocking); below it is EEPROM.
SRAM_START = 40
#: Present_Position .. Present_Load in one read: position, speed, load (6 bytes).
STATE_BLOCK = (56, 6)


def register(name: str) -> Register:
    try:
        return REGISTERS[name]
    except KeyError:
        raise KeyError(f'unknown STS3215 register {name!r}; known: {", ".join(REGISTERS)}') from None
