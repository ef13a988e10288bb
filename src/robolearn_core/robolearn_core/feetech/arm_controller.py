"""One SO arm through its faults: connect, hold, follow a target within a step limit, reconnect, report.

Why apart from the driver node: this state machine (a servo that stops answering, an adapter that
vanishes and returns, torque restored after a reconnect, the arm re-read before any command) is what
makes a driver safe, and it is tested here against the simulated bus without ROS. The node wires topics,
services and diagnostics to it and runs :meth:`tick` on a fixed-rate thread.

Thread safety: ``tick`` (the control thread) and ``set_torque`` (a service) share the bus under one
lock; ``set_target`` is a reference swap the next tick reads once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robolearn_core.calibration import ArmCalibration
from robolearn_core.control.safety import step_toward
from robolearn_core.feetech.arm import Arm, Health, JointState
from robolearn_core.feetech.bus import BusDisconnected, BusError, BusTimeout, FeetechBus
from robolearn_core.feetech.protocol import StatusError
from robolearn_core.so_arm.joints import JOINT_NAMES

ROLES = ('follower', 'leader')


class Log(Protocol):
    """The node's logger (rclpy's, or Python's logging.Logger in tests)."""

    def info(self, text: str) -> object: ...
    def warning(self, text: str) -> object: ...
    def error(self, text: str) -> object: ...


@dataclass(frozen=True)
class ArmSettings:
    port: str
    role: str = 'follower'
    baudrate: int = 1_000_000
    timeout_s: float = 0.02
    retries: int = 2
    max_step_rad: float = 0.05
    torque_on_start: bool = True
    reconnect_period_s: float = 0.5
    health_period_s: float = 1.0
    #: Servos silent for less than this are a warning, longer an ERROR (a disconnected adapter: an ERROR at once).
    silent_error_s: float = 1.0

    def problems(self) -> list[str]:
        problems = []
        if self.role not in ROLES:
            problems.append(f"role {self.role!r} is not one of {', '.join(ROLES)}")
        if not 0.0 < self.max_step_rad <= 1.0:
            problems.append(f'max_step_rad {self.max_step_rad} is outside (0, 1]')
        if self.timeout_s <= 0 or self.retries < 0:
            problems.append(f'timeout_ms ({self.timeout_s * 1000:g}) must be > 0 and retries ({self.retries}) >= 0')
        if self.reconnect_period_s <= 0 or self.health_period_s <= 0 or self.silent_error_s < 0:
            problems.append('reconnect_period_s and health_period_s must be > 0, silent_error_s >= 0')
        return problems


class ArmController:
    """The arm of one driver. Faults never raise out of :meth:`tick`; only :meth:`connect` (the start) raises."""

    def __init__(self, settings: ArmSettings, calibration: ArmCalibration, log: Log,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.log = log
        self.clock = clock
        bus = FeetechBus(settings.port, settings.baudrate, settings.timeout_s, settings.retries)
        self.arm = Arm(bus, calibration)
        self.lock = threading.Lock()
        self.connected = False
        self.torque_wanted = False  # what the user asked for (restored after a reconnect)
        self.torque_on = False
        self.target: np.ndarray | None = None  # latest valid command; None = hold
        self.last_goal: np.ndarray | None = None  # last goal sent
        self.problem = ''  # the current fault, '' when healthy
        self._silent_since: float | None = None  # when the servos stopped answering (None: they answer)
        self._silence_logged_as_error = False
        self.silences = 0  # spells of unanswered reads, short ones included (diagnostics)
        self.reconnects = 0
        self.health: Health | None = None
        self.cycle_ms: deque[float] = deque(maxlen=1000)
        self._next_reconnect = 0.0
        self._next_health = 0.0

    @property
    def leader(self) -> bool:
        return self.settings.role == 'leader'

    # --- start and stop -----------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the port, check the servos, first read, torque (follower). Raises BusError naming the fix."""
        with self.lock:
            self.arm.connect()
            self.last_goal = self.arm.read_state().position
            self.connected = True
            if self.leader:
                self.arm.set_torque(False)  # a leader is moved by hand
            elif self.settings.torque_on_start:
                self._enable_torque()

    def close(self) -> None:
        """Close the port (torque stays as it is: the arm holds)."""
        with self.lock:
            self.arm.bus.close()

    # --- the control tick -----------------------------------------------------------------------------
    def tick(self) -> JointState | None:
        """One cycle: read the state, step the goal toward the target, write it; the state read, or None."""
        with self.lock:
            now = self.clock()
            if not self.connected:
                if now >= self._next_reconnect:
                    self._next_reconnect = now + self.settings.reconnect_period_s
                    self._reconnect()
                return None
            t0 = time.perf_counter()
            try:
                state = self.arm.read_state()
                if self.torque_on and self.last_goal is not None:
                    target = self.target  # one read: set_target swaps the reference
                    target = self.last_goal if target is None else target
                    goal = step_toward(self.last_goal, target, self.settings.max_step_rad, self.arm.lower, self.arm.upper)
                    self.arm.write_goals(goal)
                    self.last_goal = goal
                if now >= self._next_health:
                    self._next_health = now + self.settings.health_period_s
                    self.health = self.arm.read_health()
                self.cycle_ms.append((time.perf_counter() - t0) * 1000.0)
                if self.problem:
                    silent = f' after {now - self._silent_since:.2f} s' if self._silent_since is not None else ''
                    self.log.info(f'recovered{silent}: {self.problem}')
                    self.problem = ''
                self._silent_since = None
                return state
            except BusTimeout as e:
                self._silent(now, f'servo(s) {e.missing} not answering on {self.settings.port}: {e}')
            except BusDisconnected as e:
                self.connected = False
                self.torque_on = False
                self._silent_since = None  # a vanished adapter is its own fault: an ERROR at once, not a silence
                self._next_reconnect = now + self.settings.reconnect_period_s
                self._report(f'bus {self.settings.port} disconnected ({e}); reconnecting every '
                             f'{self.settings.reconnect_period_s:g} s')
            return None

    def set_target(self, positions: np.ndarray) -> None:
        """The goal to move toward (rad, JOINT_NAMES order), at most max_step_rad per tick."""
        self.target = positions

    @property
    def briefly_silent(self) -> bool:
        """Servos silent for less than silent_error_s: a warning, not yet an error."""
        return self._silent_since is not None and not self._silence_logged_as_error

    def report_error(self, problem: str) -> None:
        """A fault found outside the tick (e.g. an unexpected exception in the control thread)."""
        self._report(problem)

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            self.log.error(problem)
        self.problem = problem

    def _silent(self, now: float, problem: str) -> None:
        """Servos that did not answer: a warning first, an ERROR once the silence has lasted silent_error_s.

        Why not an ERROR at once: the servos keep holding their last goal, so a silence of a few hundred ms
        costs a few missed ticks, and on the simulated buses it happens when world_node's bus thread does not
        get a CPU on a loaded machine (docs/sim.md); an arm that stays silent is what the operator must hear about.
        """
        if self._silent_since is None:
            self._silent_since, self._silence_logged_as_error = now, False
            self.silences += 1
        lasted = now - self._silent_since
        if lasted >= self.settings.silent_error_s and not self._silence_logged_as_error:
            self.log.error(f'{problem} (silent for {lasted:.1f} s)')
            self._silence_logged_as_error = True
        elif problem != self.problem and not self._silence_logged_as_error:
            self.log.warning(f'{problem} (an ERROR if it lasts {self.settings.silent_error_s:g} s)')
        self.problem = problem

    def _reconnect(self) -> None:
        port = self.settings.port
        try:
            self.arm.connect()
            # Re-read before any command: the arm may have moved while the bus was gone.
            self.last_goal = self.arm.read_state().position
            self.target = None
            if self.leader:
                self.arm.set_torque(False)
            elif self.torque_wanted:
                self._enable_torque()
            self.connected = True
            self.reconnects += 1
            self.log.info(f'reconnected to {port}; holding at the re-read position')
            self.problem = ''
        except BusError as e:
            self.arm.bus.close()
            self._report(f'bus {port} disconnected, not back yet ({e}); retrying every {self.settings.reconnect_period_s:g} s')

    # --- torque -------------------------------------------------------------------------------------------
    def set_torque(self, enabled: bool) -> tuple[bool, str]:
        """Switch torque (never on for a leader); (success, message)."""
        if enabled and self.leader:
            return False, 'torque is never enabled on the leader arm'
        if not self.connected:
            return False, f'not connected to {self.settings.port}: {self.problem or "starting"}'
        try:
            with self.lock:
                if enabled:
                    self._enable_torque()
                else:
                    self.arm.set_torque(False)
                    self.torque_on = self.torque_wanted = False
        except BusError as e:
            return False, f'bus error: {e}'
        return True, f'torque {"on" if enabled else "off"}'

    def _enable_torque(self) -> None:
        self.last_goal = self.arm.set_torque(True)
        self.target = None  # hold here until a new command arrives
        self.torque_on = self.torque_wanted = True

    # --- reporting ----------------------------------------------------------------------------------------
    def servo_flags(self) -> list[str]:
        """'<joint> (servo N): OVERHEAT|...' for every servo whose latest reply carried error bits."""
        flags = []
        for name, servo_id in zip(JOINT_NAMES, self.arm.ids):
            bits = self.arm.bus.stats.servo(servo_id).last_status_error
            if bits:
                names = '|'.join(e.name for e in StatusError if bits & e) or f'0x{bits:02x}'
                flags.append(f'{name} (servo {servo_id}): {names}')
        return flags

    def take_cycle_times(self) -> np.ndarray:
        """Control-cycle durations (ms) since the last call (at least one value)."""
        with self.lock:
            cycles = np.array(self.cycle_ms) if self.cycle_ms else np.zeros(1)
            self.cycle_ms.clear()
        return cycles

    def bus_values(self) -> dict[str, str]:
        """Bus and servo counters, voltages and temperatures, for diagnostics."""
        stats = self.arm.bus.stats
        values = {'retries': str(stats.retries), 'transactions': str(stats.transactions), 'paused_waits': str(stats.pauses)}
        for name, servo_id in zip(JOINT_NAMES, self.arm.ids):
            s = stats.servo(servo_id)
            values[f'{name}.errors'] = (f'timeouts={s.timeouts} checksum={s.checksum_errors} status={s.status_errors} '
                                        f'last_status=0x{s.last_status_error:02x}')
        if self.health is not None:
            for name, v, t in zip(JOINT_NAMES, self.health.voltage, self.health.temperature):
                values[f'{name}.voltage_V'] = f'{v:.1f}'
                values[f'{name}.temperature_C'] = f'{t:.0f}'
        return values
