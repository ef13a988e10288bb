"""A simulated STS3215 bus on a pseudo-terminal: the driver opens it like ``/dev/ttyACM0``.

The servo end of a pty answers byte for byte like six STS3215 servos: PING, READ, WRITE, REG_WRITE/ACTION,
SYNC_READ, SYNC_WRITE; the control table (control_table.py) with Homing_Offset, position limits, torque
enable; present position/speed/load from a ``JointBackend``, voltage and temperature. Optionally it takes
the wire time of every packet at the bus's baud rate (10 bits a byte), and faults can be injected while
it runs (``SimulatedBus.faults``).

The seam with whatever moves the joints is ``robolearn_core.feetech.joint_backend.JointBackend`` (radians): the bus
reads ``present_positions()`` etc. when a servo is read, and calls ``set_goal_positions(goals, torque)``
whenever a goal or a torque flag changes, from the bus's serving thread (a backend must accept calls
from a thread other than its own). The bus owns the mounting (which raw encoder tick is joint
angle 0), like a real arm::

    backend = FirstOrderLagJoints()           # or the simulated world's MuJoCo backend
    with SimulatedBus('/tmp/so100_follower', backend) as sim:   # serves in a thread
        ...   # FeetechBus('/tmp/so100_follower') / so100_driver port:=/tmp/so100_follower
        sim.faults.dead_ids.add(3)
    SimulatedBus(...).serve_forever()          # or in the calling thread (a process of its own)

With ``calibrated=True`` (default) the servos start with the Homing_Offset and position limits of
``sim.calibration``, the calibration a perfect ``calibrate`` run would write: the driver then reports
exactly the backend's radians. ``calibrated=False`` is a factory-fresh arm (offset 0, limits 0..4095).
"""

from __future__ import annotations

import os
import random
import select
import struct
import threading
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robolearn_core.calibration import MAX_TICK, TICKS_PER_RAD, ArmCalibration, MotorCalibration
from robolearn_core.feetech import protocol
from robolearn_core.feetech.control_table import REGISTERS, RESOLUTION, STS3215_MODEL
from robolearn_core.feetech.joint_backend import JointBackend
from robolearn_core.feetech.protocol import ChecksumError, Instruction, PacketReader, StatusError, decode_sign_magnitude

SO_IDS = (1, 2, 3, 4, 5, 6)
#: Raw encoder tick at joint angle 0 of each simulated servo: deliberately not 2048, as on a real arm,
#: so that calibration has something to find.
DEFAULT_ZERO_TICKS = (2048 + 120, 2048 - 310, 2048 + 45, 2048 - 180, 2048 + 260, 2048 - 90)
#: Half of each joint's calibrated range, rad (SO-101 URDF limits; wrist_roll turns fully, as LeRobot
#: calibrates it 0..4095; the gripper's range is made symmetric so its zero is the URDF's).
DEFAULT_HALF_RANGES = (1.92, 1.75, 1.69, 1.66, None, 1.75)


def _pack_u16(mem: bytearray, address: int, value: int) -> None:
    struct.pack_into('<H', mem, address, value)


def _unpack_sm(mem: bytearray, address: int, sign_bit: int) -> int:
    return decode_sign_magnitude(struct.unpack_from('<H', mem, address)[0], sign_bit)


@dataclass
class Faults:
    """Faults to inject; change them at any time from any thread.

    Counters (``drop_replies``, ``corrupt_replies``) apply to the next N status packets; probabilities
    to every status packet (seeded: reproducible). ``dead_ids`` neither answer nor obey (a browned-out
    servo). ``status_errors`` adds error bits to a servo's replies (OVERHEAT also raises its temperature).
    """

    drop_replies: int = 0
    corrupt_replies: int = 0
    drop_probability: float = 0.0
    corrupt_probability: float = 0.0
    dead_ids: set[int] = field(default_factory=set)
    extra_latency_s: float = 0.0
    status_errors: dict[int, int] = field(default_factory=dict)


def matching_calibration(
    zero_ticks: Sequence[int] = DEFAULT_ZERO_TICKS,
    half_ranges: Sequence[float | None] = DEFAULT_HALF_RANGES,
    ids: Sequence[int] = SO_IDS,
) -> ArmCalibration:
    """The calibration LeRobot's procedure gives on this simulated arm (middle pose = joint angles 0)."""
    from robolearn_core.so_arm.joints import JOINT_NAMES

    motors = {}
    for name, servo_id, zero, half in zip(JOINT_NAMES, ids, zero_ticks, half_ranges):
        offset = zero - 2047  # the middle pose reads 2047
        if half is None:
            lo, hi = 0, MAX_TICK
        else:
            span = int(round(half * TICKS_PER_RAD))
            lo, hi = 2047 - span, 2047 + span
        motors[name] = MotorCalibration(id=servo_id, drive_mode=0, homing_offset=offset, range_min=lo, range_max=hi)
    return ArmCalibration(motors)


class _Servo:
    """Registers of one STS3215 (256 bytes of memory, as the servo's table)."""

    def __init__(self, servo_id: int, index: int, zero_tick: int) -> None:
        self.index = index  # joint index in the backend
        self.zero_tick = zero_tick
        self.mem = bytearray(256)
        self.pending_reg_write: tuple[int, bytes] | None = None
        self.factory_reset(servo_id)

    def set(self, name: str, value: int) -> None:
        reg = REGISTERS[name]
        self.mem[reg.address : reg.address + reg.size] = reg.encode(value)

    def get(self, name: str) -> int:
        reg = REGISTERS[name]
        return reg.decode(bytes(self.mem[reg.address : reg.address + reg.size]))

    def factory_reset(self, servo_id: int) -> None:
        for name, value in (
            ('Firmware_Major_Version', 3), ('Firmware_Minor_Version', 10), ('Model_Number', STS3215_MODEL),
            ('ID', servo_id), ('Baud_Rate', 0), ('Return_Delay_Time', 0), ('Response_Status_Level', 1),
            ('Min_Position_Limit', 0), ('Max_Position_Limit', MAX_TICK), ('Max_Temperature_Limit', 70),
            ('Max_Voltage_Limit', 140), ('Min_Voltage_Limit', 40), ('Max_Torque_Limit', 1000),
            ('P_Coefficient', 32), ('D_Coefficient', 32), ('I_Coefficient', 0), ('Homing_Offset', 0),
            ('Operating_Mode', 0), ('Torque_Enable', 0), ('Lock', 1), ('Torque_Limit', 1000),
            ('Present_Voltage', 120), ('Present_Temperature', 30),
        ):
            self.set(name, value)

    # the mounting (raw tick at joint angle 0) and the Homing_Offset, from a goal to joint radians
    def goal_radians(self) -> float:
        mem = self.mem
        goal, lo, hi = (struct.unpack_from('<H', mem, a)[0] for a in (42, 9, 11))
        if lo < hi:  # limits 0/0 mean "no limit" (multi-turn) on STS servos
            goal = min(max(goal, lo), hi)
        delta = (goal + _unpack_sm(mem, 31, 11) - self.zero_tick + RESOLUTION // 2) % RESOLUTION - RESOLUTION // 2
        return delta / TICKS_PER_RAD


class SimulatedBus:
    """Six (or ``len(ids)``) simulated STS3215 servos behind a pty whose slave is symlinked at ``port_link``.

    ``backend`` joint i is servo ``ids[i]``. ``wire_time`` makes every packet take its time at
    ``baudrate``; ``reply_latency_s`` adds a fixed delay before each reply (a USB adapter's latency timer).
    """

    def __init__(
        self,
        port_link: str | Path,
        backend: JointBackend,
        ids: Sequence[int] = SO_IDS,
        *,
        zero_ticks: Sequence[int] = DEFAULT_ZERO_TICKS,
        calibrated: bool = True,
        half_ranges: Sequence[float | None] = DEFAULT_HALF_RANGES,
        wire_time: bool = False,
        baudrate: int = 1_000_000,
        reply_latency_s: float = 0.0,
        seed: int = 0,
    ) -> None:
        if len(ids) != len(backend.joint_names) or len(zero_ticks) < len(ids):
            raise ValueError(f'{len(ids)} servo ids for a backend with {len(backend.joint_names)} joints '
                             f'and {len(zero_ticks)} zero ticks')
        self.port_link = Path(port_link)
        self.backend = backend
        self.ids = tuple(ids)
        self.wire_time = wire_time
        self.baudrate = baudrate
        self.reply_latency_s = reply_latency_s
        self.faults = Faults()
        self._rng = random.Random(seed)
        self._servos = [_Servo(i, k, z) for k, (i, z) in enumerate(zip(self.ids, zero_ticks))]
        self.calibration: ArmCalibration | None = None
        if calibrated and len(self.ids) == 6:
            self.calibration = matching_calibration(zero_ticks, half_ranges, self.ids)
            for servo, m in zip(self._servos, self.calibration.motors.values()):
                servo.set('Homing_Offset', m.homing_offset)
                servo.set('Min_Position_Limit', m.range_min)
                servo.set('Max_Position_Limit', m.range_max)
        self._init_goals_to_present()
        self.requests = 0  # instruction packets handled (for tests and benchmarks)
        self._reader = PacketReader()
        self._master: int | None = None
        self._slave: int | None = None
        self._wire_free_at = 0.0
        self._lock = threading.RLock()
        self._wake_r: int | None
        self._wake_w: int | None
        self._wake_r, self._wake_w = os.pipe()
        self._calls: list[tuple[Callable[[], None], threading.Event]] = []
        self._running = False
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> SimulatedBus:
        """Create the pty and its symlink, and serve in a daemon thread."""
        self._open_pty()
        self._running = True
        self._thread = threading.Thread(target=self._serve, name=f'sim-bus {self.port_link}', daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Create the pty and serve in the calling thread until ``stop()`` (e.g. from a signal handler)."""
        self._open_pty()
        self._running = True
        try:
            self._serve()
        finally:
            self._close_pty()
            self._close_wake_pipe()

    def stop(self) -> None:
        """Stop serving, remove the symlink and the pty. Idempotent; callable from a signal handler."""
        self._running = False
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b'x')
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
            self._close_pty()
            self._close_wake_pipe()

    def _close_wake_pipe(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None

    def __enter__(self) -> SimulatedBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def device(self) -> str | None:
        """The pty slave the symlink points at now (None while vanished)."""
        return os.ttyname(self._slave) if self._slave is not None else None

    # --- faults that need the serving thread -----------------------------------------------------------
    def vanish(self, power_cycle: bool = False) -> None:
        """The adapter is unplugged: the symlink and the pty go away (open clients get I/O errors).

        ``power_cycle`` also cuts the servos' power: RAM registers reset (torque off: the arm goes limp).
        """

        def do() -> None:
            self._close_pty()
            if power_cycle:
                for s in self._servos:
                    s.set('Torque_Enable', 0)
                self._update_backend()

        self._in_thread(do)

    def reappear(self) -> None:
        """The adapter is plugged back in: a new pty (another /dev/pts number) behind the same symlink."""

        def do() -> None:
            if self._master is None:
                self._open_pty()
                if not any(s.get('Torque_Enable') for s in self._servos):
                    self._init_goals_to_present()  # a servo that powered up holds where it is

        self._in_thread(do)

    def _in_thread(self, fn: Callable[[], None]) -> None:
        if self._thread is None or threading.current_thread() is self._thread:
            with self._lock:
                fn()
            return
        done = threading.Event()
        with self._lock:
            self._calls.append((fn, done))
        os.write(self._wake_w, b'x')
        if not done.wait(5):
            raise TimeoutError('simulated bus thread did not respond')

    # --- the pty ---------------------------------------------------------------------------------------
    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass unchanged
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._reader.clear()
        self.port_link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.port_link.with_name(f'.{self.port_link.name}.{os.getpid()}.tmp')
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port_link)

    def _close_pty(self) -> None:
        if self.port_link.is_symlink() and self._slave is not None and os.readlink(self.port_link) == os.ttyname(self._slave):
            self.port_link.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def _serve(self) -> None:
        while self._running:
            fds = [self._wake_r] + ([self._master] if self._master is not None else [])
            readable, _, _ = select.select(fds, [], [], 0.5)
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
                with self._lock:
                    calls, self._calls = self._calls, []
                for fn, done in calls:
                    with self._lock:
                        fn()
                    done.set()
            if self._master is not None and self._master in readable:
                try:
                    data = os.read(self._master, 4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    continue
                arrived = time.perf_counter()
                self._reader.feed(data)
                self._handle_available(arrived)

    def _handle_available(self, arrived: float) -> None:
        while True:
            try:
                packet = self._reader.next_packet()
            except ChecksumError:
                continue  # a servo ignores a corrupted instruction
            if packet is None:
                return
            with self._lock:
                self.requests += 1
                replies = self._execute(packet)
            self._send(len(packet), replies, arrived)

    def _send(self, request_len: int, replies: list[bytes], arrived: float) -> None:
        """Write the replies when they would have finished crossing the wire."""
        reply = b''.join(replies)
        if self.wire_time:
            start = max(arrived, self._wire_free_at)
            done = start + protocol.wire_seconds(request_len + len(reply), self.baudrate)
            self._wire_free_at = done
        else:
            done = arrived
        if reply:
            done += self.reply_latency_s + self.faults.extra_latency_s
            delay = done - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if self._master is not None:
                try:
                    os.write(self._master, reply)
                except OSError:
                    pass  # nobody reads the other end (full buffer): like a reply lost on the wire

    # --- the servos ------------------------------------------------------------------------------------
    def _servo(self, servo_id: int) -> _Servo | None:
        for s in self._servos:
            if s.mem[REGISTERS['ID'].address] == servo_id:
                return s if servo_id not in self.faults.dead_ids else None
        return None

    def _status(self, servo: _Servo, data: bytes = b'') -> bytes:
        servo_id = servo.mem[REGISTERS['ID'].address]
        f = self.faults
        if f.drop_replies > 0:
            f.drop_replies -= 1
            return b''
        if f.drop_probability and self._rng.random() < f.drop_probability:
            return b''
        packet = bytearray(protocol.status(servo_id, f.status_errors.get(servo_id, 0), data))
        if f.corrupt_replies > 0 or (f.corrupt_probability and self._rng.random() < f.corrupt_probability):
            f.corrupt_replies = max(f.corrupt_replies - 1, 0)
            packet[-1] ^= 0x5A
        return bytes(packet)

    def _refresh_present(self, address: int = 56, length: int = 15) -> None:
        """Write the backend's state into the present-value registers that a read of this range sees.

        Vectorised and with direct byte packing: this runs on every read, for every servo.
        """
        end = address + length
        if end <= 56 or address > 70:
            return
        pos = self.backend.present_positions()
        zero = np.array([s.zero_tick for s in self._servos])
        offset = np.array([_unpack_sm(s.mem, 31, 11) for s in self._servos])
        idx = [s.index for s in self._servos]
        present = (np.rint(zero + pos[idx] * TICKS_PER_RAD).astype(np.int64) % RESOLUTION - offset) % RESOLUTION
        wants_motion = end > 58
        if wants_motion:
            speed = np.clip(np.rint(self.backend.present_velocities()[idx] * TICKS_PER_RAD), -32767, 32767).astype(np.int64)
            load = np.clip(np.rint(self.backend.present_loads()[idx] * 1000), -1000, 1000).astype(np.int64)
        for k, s in enumerate(self._servos):
            mem = s.mem
            _pack_u16(mem, 56, int(present[k]))
            if wants_motion:
                v, load_k = int(speed[k]), int(load[k])
                _pack_u16(mem, 58, -v | 0x8000 if v < 0 else v)
                _pack_u16(mem, 60, -load_k | 0x400 if load_k < 0 else load_k)
                mem[66] = int(abs(v) > 8)
                _pack_u16(mem, 69, abs(load_k) // 2)
                hot = self.faults.status_errors.get(mem[5], 0) & StatusError.OVERHEAT
                mem[63] = 75 if hot else 30

    def _init_goals_to_present(self) -> None:
        self._refresh_present()
        for s in self._servos:
            s.set('Goal_Position', s.get('Present_Position'))
        self._update_backend()

    def _update_backend(self) -> None:
        goals = np.array([s.goal_radians() for s in self._servos])
        torque = np.array([bool(s.mem[40]) for s in self._servos])
        self.backend.set_goal_positions(goals, torque)

    def _write_memory(self, servo: _Servo, address: int, data: bytes) -> bool:
        """Apply a write the way the servo would; True if goals or torque may have changed."""
        for offset, byte in enumerate(data):
            a = address + offset
            if a > 255:
                break
            if a <= 4 or 56 <= a <= 70:
                continue  # read-only: version, model, present values
            servo.mem[a] = byte
        return address < 44 and address + len(data) > 9  # limits, offset, torque or goal touched

    def _execute(self, packet: protocol.Packet) -> list[bytes]:
        code, params = packet.code, packet.params
        if code == Instruction.SYNC_READ and packet.servo_id == protocol.BROADCAST_ID and len(params) >= 2:
            address, length = params[0], params[1]
            self._refresh_present(address, length)
            out = []
            for servo_id in params[2:]:
                servo = self._servo(servo_id)
                if servo is not None:
                    out.append(self._status(servo, bytes(servo.mem[address : address + length])))
            return out
        if code == Instruction.SYNC_WRITE and packet.servo_id == protocol.BROADCAST_ID and len(params) >= 2:
            address, length = params[0], params[1]
            changed = False
            body = params[2:]
            for i in range(0, len(body) - length, length + 1):
                servo = self._servo(body[i])
                if servo is not None:
                    changed |= self._write_memory(servo, address, body[i + 1 : i + 1 + length])
            if changed:
                self._update_backend()
            return []
        targets = self._servos if packet.servo_id == protocol.BROADCAST_ID else [self._servo(packet.servo_id)]
        targets = [s for s in targets if s is not None and s.mem[REGISTERS['ID'].address] not in self.faults.dead_ids]
        reply = packet.servo_id != protocol.BROADCAST_ID
        out: list[bytes] = []
        changed = False
        for servo in targets:
            if code == Instruction.PING:
                out.append(self._status(servo))
            elif code == Instruction.READ and len(params) == 2:
                self._refresh_present(params[0], params[1])
                out.append(self._status(servo, bytes(servo.mem[params[0] : params[0] + params[1]])))
            elif code == Instruction.WRITE and len(params) >= 2:
                changed |= self._write_memory(servo, params[0], params[1:])
                if servo.mem[8]:  # Response_Status_Level 0: only PING and READ are answered
                    out.append(self._status(servo))
            elif code == Instruction.REG_WRITE and len(params) >= 2:
                servo.pending_reg_write = (params[0], bytes(params[1:]))
                if servo.mem[8]:
                    out.append(self._status(servo))
            elif code == Instruction.ACTION and servo.pending_reg_write is not None:
                changed |= self._write_memory(servo, *servo.pending_reg_write)
                servo.pending_reg_write = None
        if changed:
            self._update_backend()
        return [b for b in out if b] if reply else []
