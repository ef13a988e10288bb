"""Host side of a Feetech STS bus on pyserial: transactions with timeouts, bounded retries, error counts.

Why its own class and not scservo_sdk: the driver needs per-servo error counts, retries of only the
servos that did not answer, partial sync-read results and a clear "the adapter is gone" signal, and it
must not sleep on fixed latency timers. ``scservo_sdk`` stays as an independent check in the tests.

Failures surface as three exceptions: ``BusTimeout`` (some servos did not answer after the retries; the
answers that did arrive are attached), ``BusDisconnected`` (the serial device failed or vanished: close,
reopen later) and ``ValueError`` for a call that cannot be encoded.
"""

from __future__ import annotations

import os
import select
import termios
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import serial

from robolearn_core.feetech import protocol
from robolearn_core.feetech.control_table import register
from robolearn_core.feetech.protocol import OVERHEAD, ChecksumError, PacketReader

#: How many times one wait for replies is extended because this process itself was paused (see _receive)
MAX_PAUSES_PER_WAIT = 5


class BusError(RuntimeError):
    pass


class BusDisconnected(BusError):
    """The serial device failed (unplugged, vanished, closed): reopen the port to go on."""


class BusTimeout(BusError):
    """Some servos did not answer (or answered garbage) after every retry."""

    def __init__(self, message: str, missing: list[int], partial: dict[int, bytes]) -> None:
        super().__init__(message)
        self.missing = missing
        self.partial = partial


@dataclass
class ServoStats:
    """What went wrong with one servo since the bus was created."""

    timeouts: int = 0
    checksum_errors: int = 0
    status_errors: int = 0
    last_status_error: int = 0  # protocol.StatusError bits of the latest reply

    def failures(self) -> int:
        return self.timeouts + self.checksum_errors


@dataclass
class BusStats:
    transactions: int = 0
    retries: int = 0
    pauses: int = 0  # waits in which this process did not run for longer than the timeout (not counted as timeouts)
    skipped_bytes: int = 0
    servos: dict[int, ServoStats] = field(default_factory=dict)

    def servo(self, servo_id: int) -> ServoStats:
        return self.servos.setdefault(servo_id, ServoStats())


class FeetechBus:
    """One half-duplex STS bus behind a serial adapter (or a simulated bus on a pseudo-terminal).

    ``timeout_s`` bounds the wait for the replies of one transaction (on top of their wire time);
    ``retries`` is how many times a transaction is repeated for the servos that did not answer.
    """

    def __init__(self, port: str, baudrate: int = 1_000_000, timeout_s: float = 0.02, retries: int = 2) -> None:
        if timeout_s <= 0 or retries < 0:
            raise ValueError(f'timeout_s must be > 0 and retries >= 0 (got {timeout_s}, {retries})')
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.retries = retries
        self.stats = BusStats()
        self._serial: serial.Serial | None = None
        self._reader = PacketReader()
        self._corrupted: set[int] = set()

    # --- connection --------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port; raises BusDisconnected naming the port if it cannot be opened."""
        self.close()
        try:
            # pyserial opens and configures the port (raw 8N1 at the baud rate); reads go through
            # _read_some with one deadline per transaction.
            # exclusive: an flock, so a second robolearn program (calibrate while a driver runs) cannot
            # talk on the same half-duplex bus at once.
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0, write_timeout=1.0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as e:
            if 'exclusively lock' in str(e):
                raise BusDisconnected(
                    f'cannot open {self.port}: another program (a driver, calibrate?) is using it; stop it first'
                ) from e
            raise BusDisconnected(f'cannot open {self.port}: {e}') from e
        self._reader.clear()

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError, termios.error):
                pass
            self._serial = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def __enter__(self) -> FeetechBus:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw transactions ----------------------------------------------------------------------------
    def _send(self, request: bytes) -> None:
        if self._serial is None:
            raise BusDisconnected(f'{self.port} is not open')
        try:
            # Drop stale bytes (a late reply to an earlier, timed-out request) before asking again.
            if self._serial.in_waiting:
                self._serial.reset_input_buffer()
            self._reader.clear()
            self._serial.write(request)
        except (serial.SerialException, OSError, termios.error) as e:
            self.close()
            raise BusDisconnected(f'{self.port}: {e}') from e

    def _receive(self, expected: Mapping[int, int]) -> dict[int, protocol.Packet]:
        """Read the status packets of ``expected`` {servo id: data length} until all came or time ran out."""
        got: dict[int, protocol.Packet] = {}
        corrupted: set[int] = set()
        remaining = sum(OVERHEAD + n for n in expected.values())
        deadline = time.monotonic() + self.timeout_s + protocol.wire_seconds(remaining, self.baudrate)
        pauses = 0
        assert self._serial is not None
        while len(got) + len(corrupted) < len(expected):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = self._read_some(max(remaining - self._reader.pending, 1), left)
            if not chunk:
                # The deadline passed. If this thread woke more than a whole timeout after it (the machine paused
                # every process: seen for up to 1 s on a loaded VM), the servos' silence was never observed:
                # give them one more timeout of time in which we run, a few times at most.
                now = time.monotonic()
                if now - deadline > self.timeout_s and pauses < MAX_PAUSES_PER_WAIT:
                    pauses += 1
                    self.stats.pauses += 1
                    deadline = now + self.timeout_s
                    continue
                break
            self._reader.feed(chunk)
            while True:
                try:
                    packet = self._reader.next_packet()
                except ChecksumError as e:
                    if e.packet.servo_id in expected and e.packet.servo_id not in got:
                        self.stats.servo(e.packet.servo_id).checksum_errors += 1
                        corrupted.add(e.packet.servo_id)
                        remaining -= len(e.packet)
                    continue
                if packet is None:
                    break
                length = expected.get(packet.servo_id)
                if length is None or len(packet.params) != length:
                    continue  # not a reply we asked for (a stale or foreign packet)
                got[packet.servo_id] = packet
                remaining -= len(packet)
                stats = self.stats.servo(packet.servo_id)
                stats.last_status_error = packet.code
                if packet.code:
                    stats.status_errors += 1
        self.stats.skipped_bytes = self._reader.skipped_bytes
        self._corrupted = corrupted
        return got

    def _read_some(self, n: int, timeout: float) -> bytes:
        """Up to ``n`` bytes as soon as any arrive, or b'' after ``timeout`` s.

        select + os.read on the port's descriptor instead of pyserial's read(): one deadline for the
        whole transaction (pyserial's per-call timeout would restart on every partial read), and no
        loop inside pyserial waiting for all ``n`` bytes.
        """
        assert self._serial is not None
        fd = self._serial.fileno()
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return b''
            data = os.read(fd, n)
        except OSError as e:
            self.close()
            raise BusDisconnected(f'{self.port}: {e}') from e
        if not data:
            self.close()
            raise BusDisconnected(f'{self.port}: readable but no data (device unplugged?)')
        return data

    def _transact(
        self, make_request: Callable[[list[int]], bytes], expected: Mapping[int, int], what: str
    ) -> dict[int, protocol.Packet]:
        """Send, collect replies, and re-ask only the servos that did not answer, up to ``retries`` times."""
        got: dict[int, protocol.Packet] = {}
        pending = dict(expected)
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
            self.stats.transactions += 1
            self._send(make_request(list(pending)))
            got.update(self._receive(pending))
            pending = {i: n for i, n in pending.items() if i not in got}
            if not pending:
                return got
            for servo_id in pending:
                if servo_id not in self._corrupted:
                    self.stats.servo(servo_id).timeouts += 1
        missing = sorted(pending)
        raise BusTimeout(
            f'{what}: no valid reply from servo(s) {missing} on {self.port} after {self.retries + 1} tries',
            missing,
            {i: p.params for i, p in got.items()},
        )

    # --- instructions --------------------------------------------------------------------------------
    def ping(self, servo_id: int) -> bool:
        try:
            self._transact(lambda ids: protocol.ping(servo_id), {servo_id: 0}, f'ping {servo_id}')
        except BusTimeout:
            return False
        return True

    def read(self, servo_id: int, address: int, length: int) -> bytes:
        got = self._transact(lambda ids: protocol.read(servo_id, address, length), {servo_id: length}, f'read {address}')
        return got[servo_id].params

    def write(self, servo_id: int, address: int, data: bytes) -> None:
        """WRITE and wait for the servo's status reply (retried if it does not come)."""
        self._transact(lambda ids: protocol.write(servo_id, address, data), {servo_id: 0}, f'write {address}')

    def sync_read(self, address: int, length: int, ids: Iterable[int]) -> dict[int, bytes]:
        """{servo id: data}; raises BusTimeout (with the partial answers) if a servo stays silent."""
        ids = list(ids)
        got = self._transact(
            lambda pending: protocol.sync_read(address, length, pending), {i: length for i in ids}, f'sync read {address}'
        )
        return {i: got[i].params for i in ids}

    def sync_write(self, address: int, length: int, data: Mapping[int, bytes]) -> None:
        """Broadcast; servos do not answer, so nothing is retried: resend on the next cycle."""
        self.stats.transactions += 1
        self._send(protocol.sync_write(address, length, data))

    # --- by register name ----------------------------------------------------------------------------
    def read_register(self, servo_id: int, name: str) -> int:
        reg = register(name)
        return reg.decode(self.read(servo_id, reg.address, reg.size))

    def write_register(self, servo_id: int, name: str, value: int) -> None:
        reg = register(name)
        if reg.read_only:
            raise ValueError(f'{name} is read-only')
        self.write(servo_id, reg.address, reg.encode(value))

    def sync_read_register(self, name: str, ids: Iterable[int]) -> dict[int, int]:
        reg = register(name)
        return {i: reg.decode(d) for i, d in self.sync_read(reg.address, reg.size, ids).items()}

    def sync_write_register(self, name: str, values: Mapping[int, int]) -> None:
        reg = register(name)
        if reg.read_only:
            raise ValueError(f'{name} is read-only')
        self.sync_write(reg.address, reg.size, {i: reg.encode(v) for i, v in values.items()})

    def write_eeprom(self, servo_id: int, values: Mapping[str, int]) -> None:
        """EEPROM registers are written unlocked with torque off, then locked again (the STS rule)."""
        self.write_register(servo_id, 'Torque_Enable', 0)
        self.write_register(servo_id, 'Lock', 0)
        try:
            for name, value in values.items():
                self.write_register(servo_id, name, value)
        finally:
            self.write_register(servo_id, 'Lock', 1)
