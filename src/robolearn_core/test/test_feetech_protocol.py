"""Feetech packet encoding and parsing, against hand-computed bytes."""

import pytest

from robolearn_core.feetech import protocol
from robolearn_core.feetech.control_table import register
from robolearn_core.feetech.protocol import ChecksumError, PacketReader


def test_requests_match_hand_computed_bytes():
    assert protocol.ping(1) == bytes.fromhex('ffff010201fb')
    # READ id 1, Present_Position (56 = 0x38), 2 bytes: ~(1+4+2+0x38+2) & 0xff = 0xbe
    assert protocol.read(1, 56, 2) == bytes.fromhex('ffff0104023802be')
    # SYNC_WRITE Goal_Position (42) 2 bytes to ids 1 and 2: 2048 = 00 08, 1000 = e8 03
    pkt = protocol.sync_write(42, 2, {1: bytes.fromhex('0008'), 2: bytes.fromhex('e803')})
    body = bytes.fromhex('fe0a832a02010008' + '02e803')
    assert pkt == b'\xff\xff' + body + bytes([(~sum(body)) & 0xFF])
    assert protocol.sync_read(56, 2, [1, 2, 3])[:7] == bytes.fromhex('fffffe0782380201')[:7]


def test_sync_write_rejects_wrong_lengths():
    with pytest.raises(ValueError, match='expected 2'):
        protocol.sync_write(42, 2, {1: b'\x00'})


def test_reader_resynchronises_and_handles_split_packets():
    reader = PacketReader()
    stream = b'\x13\x37\xff' + protocol.status(3, 0, b'\x10\x20') + b'\xff' + protocol.status(4, 32)
    for byte in stream[:7]:
        reader.feed(bytes([byte]))
        assert reader.next_packet() is None
    reader.feed(stream[7:])
    first = reader.next_packet()
    assert (first.servo_id, first.code, first.params) == (3, 0, b'\x10\x20')
    second = reader.next_packet()
    assert (second.servo_id, second.code, second.params) == (4, 32, b'')
    assert reader.next_packet() is None
    assert reader.skipped_bytes == 4


def test_reader_raises_on_bad_checksum_and_continues():
    bad = bytearray(protocol.status(2, 0, b'\x01\x02'))
    bad[-1] ^= 0xFF
    reader = PacketReader()
    reader.feed(bytes(bad) + protocol.status(5))
    with pytest.raises(ChecksumError, match='servo 2'):
        reader.next_packet()
    assert reader.next_packet().servo_id == 5


@pytest.mark.parametrize('value,bit,raw', [(0, 11, 0), (5, 11, 5), (-5, 11, 0x805), (-2047, 11, 0xFFF), (-300, 15, 0x812C)])
def test_sign_magnitude(value, bit, raw):
    assert protocol.encode_sign_magnitude(value, bit) == raw
    assert protocol.decode_sign_magnitude(raw, bit) == value


def test_sign_magnitude_overflow_is_an_error():
    with pytest.raises(ValueError, match='bit 11'):
        protocol.encode_sign_magnitude(2048, 11)


def test_registers_encode_little_endian_and_signs():
    assert register('Goal_Position').encode(2048) == b'\x00\x08'
    assert register('Homing_Offset').encode(-100) == (100 | 0x800).to_bytes(2, 'little')
    assert register('Present_Speed').decode((0x8000 | 40).to_bytes(2, 'little')) == -40
    with pytest.raises(KeyError, match='unknown STS3215 register'):
        register('Goal_Positon')
    with pytest.raises(ValueError, match='does not fit'):
        register('Torque_Enable').encode(256)
