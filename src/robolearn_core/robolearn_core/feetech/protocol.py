"""Feetech SCS/STS serial protocol (protocol 0, as spoken by the STS3215): packets and checksums.

Pure bytes in, bytes out, so that the bus (host side) and the simulated bus (servo side) share one
encoder and one parser. Packet layout, both directions: ``FF FF ID LEN CODE P1..Pn CHK`` with
``LEN = n + 2`` and ``CHK = ~(ID + LEN + CODE + sum(P)) & 0xFF``; CODE is the instruction in a request
and the error bits in a reply (status packet).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HEADER = b'\xff\xff'
BROADCAST_ID = 0xFE
MAX_ID = 0xFD
#: Bytes of a packet besides its parameters: header (2), id, length, code, checksum.
OVERHEAD = 6


class Instruction(enum.IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class StatusError(enum.IntFlag):
    """Error bits of a status packet (what a servo reports about itself)."""

    VOLTAGE = 1
    ANGLE_LIMIT = 2
    OVERHEAT = 4
    OVERCURRENT = 8
    OVERLOAD = 32


@dataclass(frozen=True)
class Packet:
    """One decoded packet: ``code`` is the instruction (request) or the error bits (status)."""

    servo_id: int
    code: int
    params: bytes

    def __len__(self) -> int:
        return OVERHEAD + len(self.params)


def checksum(servo_id: int, code: int, params: bytes) -> int:
    return (~(servo_id + len(params) + 2 + code + sum(params))) & 0xFF


def encode(servo_id: int, code: int, params: bytes = b'') -> bytes:
    """A packet (request or status) with its header, length and checksum."""
    if not 0 <= servo_id <= 0xFE:
        raise ValueError(f'servo id {servo_id} is outside 0..254')
    if len(params) > 250:
        raise ValueError(f'{len(params)} parameter bytes do not fit one packet (at most 250)')
    return HEADER + bytes((servo_id, len(params) + 2, code)) + bytes(params) + bytes((checksum(servo_id, code, params),))


# --- requests ------------------------------------------------------------------------------------
def ping(servo_id: int) -> bytes:
    return encode(servo_id, Instruction.PING)


def read(servo_id: int, address: int, length: int) -> bytes:
    return encode(servo_id, Instruction.READ, bytes((address, length)))


def write(servo_id: int, address: int, data: bytes) -> bytes:
    return encode(servo_id, Instruction.WRITE, bytes((address,)) + bytes(data))


def sync_read(address: int, length: int, ids: Iterable[int]) -> bytes:
    return encode(BROADCAST_ID, Instruction.SYNC_READ, bytes((address, length, *ids)))


def sync_write(address: int, length: int, data: Mapping[int, bytes]) -> bytes:
    """One broadcast that writes ``length`` bytes at ``address`` of every servo in ``data`` (no reply)."""
    body = bytearray((address, length))
    for servo_id, chunk in data.items():
        if len(chunk) != length:
            raise ValueError(f'sync write to servo {servo_id}: {len(chunk)} bytes, expected {length}')
        body.append(servo_id)
        body += chunk
    return encode(BROADCAST_ID, Instruction.SYNC_WRITE, bytes(body))


def status(servo_id: int, error: int = 0, data: bytes = b'') -> bytes:
    return encode(servo_id, error, data)


# --- parsing -------------------------------------------------------------------------------------
class ChecksumError(ValueError):
    """A complete packet whose checksum does not match (a corrupted byte on the wire)."""

    def __init__(self, packet: Packet, got: int, expected: int) -> None:
        super().__init__(f'servo {packet.servo_id}: checksum {got:#04x}, expected {expected:#04x}')
        self.packet = packet


class PacketReader:
    """Incremental parser: ``feed`` bytes as they arrive, take whole packets with ``next_packet``.

    Garbage before a header is skipped (that is how a receiver resynchronises after noise). A packet
    with a bad checksum is consumed and raised as ``ChecksumError`` so the caller can count it.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def clear(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def next_packet(self) -> Packet | None:
        """The next whole packet, or None when more bytes are needed. Raises ChecksumError."""
        buf = self._buf
        while True:
            start = buf.find(HEADER)
            if start < 0:
                # Keep a trailing 0xFF: it may be the first half of a header.
                keep = 1 if buf.endswith(b'\xff') else 0
                self.skipped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return None
            if start:
                self.skipped_bytes += start
                del buf[:start]
            if len(buf) < 4:
                return None
            servo_id, length = buf[2], buf[3]
            if servo_id == 0xFF or length < 2:
                # FF FF FF ...: the real header starts one byte later; a length < 2 is noise.
                del buf[:1]
                self.skipped_bytes += 1
                continue
            total = 4 + length
            if len(buf) < total:
                return None
            code, params, chk = buf[4], bytes(buf[5 : total - 1]), buf[total - 1]
            del buf[:total]
            packet = Packet(servo_id, code, params)
            expected = checksum(servo_id, code, params)
            if chk != expected:
                raise ChecksumError(packet, chk, expected)
            return packet


# --- register value encodings --------------------------------------------------------------------
def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    """STS registers such as Homing_Offset (bit 11) and Present_Speed (bit 15) store sign + magnitude."""
    magnitude = abs(int(value))
    if magnitude >= 1 << sign_bit:
        raise ValueError(f'{value} does not fit a sign-magnitude value with the sign in bit {sign_bit}')
    return magnitude | (1 << sign_bit) if value < 0 else magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def to_bytes(value: int, size: int) -> bytes:
    """STS servos are little-endian."""
    return int(value).to_bytes(size, 'little')


def from_bytes(data: bytes) -> int:
    return int.from_bytes(data, 'little')


def wire_seconds(n_bytes: int, baudrate: int) -> float:
    """Time ``n_bytes`` take on an 8N1 line (10 bits a byte)."""
    return n_bytes * 10 / baudrate
