"""so100_driver: one SO-100/SO-101 arm (follower or leader) on a Feetech bus, as ROS topics.

Publishes ``/<role>/joint_states`` (rad, rad/s, effort as a fraction of max torque) every tick; the
follower applies ``/<role>/joint_commands`` (JointState positions, rad) through a step limit and the
calibrated range. Torque comes on only after the calibration was checked against the servos and a first
position read, and never on the leader. ``~/enable_torque`` (std_srvs/SetBool) switches it.
``/diagnostics`` (1 Hz): bus cycle time, rate, retries, errors per servo, voltage, temperature.

The control tick (read state, publish, step the goal, write it) runs in its own thread at ``rate_hz``
with absolute deadlines, so executor work (commands, services, diagnostics) never delays it; commands
reach it through one attribute (a reference swap) and services share the bus under a lock.

Faults never end the node: a servo that stops answering is reported (and no state is published while
the arm is incomplete); a vanished adapter is reported and reopened every ``reconnect_period_s``; after a
reconnect the arm is re-read and holds where it is before any command is sent. Only a bad start (no
port, missing servos, bad calibration) exits, with a message saying what to fix.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool

from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.feetech.arm import Arm
from robolearn_core.feetech.bus import BusDisconnected, BusError, BusTimeout, FeetechBus
from robolearn_core.feetech.protocol import StatusError
from robolearn_core.feetech.usb_latency import latency_advice
from robolearn_core.interrupt_once import raise_on_first_sigint
from robolearn_core.control.safety import step_toward
from robolearn_core.so_arm.joints import JointMessageError, positions_by_name
from robolearn_core.so_arm.joints import JOINT_NAMES

ROLES = ('follower', 'leader')


class So100Driver(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('so100_driver', **kwargs)
        ro = dict(read_only=True)

        def param(name, default, description):
            return self.declare_parameter(name, default, ParameterDescriptor(description=description, **ro)).value

        self.role = param('role', 'follower', 'follower (commands applied, torque allowed) or leader (read only, torque never on)')
        self.port = param('port', '/dev/ttyACM0', 'serial device of the arm (a stable udev symlink is best)')
        self.calibration_file = param('calibration_file', '', "LeRobot calibration JSON of this arm (written by `calibrate`)")
        self.baudrate = param('baudrate', 1_000_000, 'bus baud rate (STS3215 default 1000000)')
        self.rate_hz = param('rate_hz', 125.0, 'control ticks per second: one state read (+ one goal write) each')
        self.timeout_ms = param('timeout_ms', 20.0, 'wait for servo replies beyond their wire time, ms')
        self.retries = param('retries', 2, 'repeats of a read for servos that did not answer')
        self.max_step_rad = param('max_step_rad', 0.05, 'largest goal change per tick, rad (follower)')
        self.torque_on_start = param('torque_on_start', True, 'follower: enable torque once connected and calibrated')
        self.reconnect_period_s = param('reconnect_period_s', 0.5, 'seconds between attempts to reopen a vanished port')
        self.health_period_s = param('health_period_s', 1.0, 'seconds between voltage/temperature reads')
        self.realtime_priority = param(
            'realtime_priority', 0, 'SCHED_FIFO priority (1..99) for the control thread on a busy machine; 0 = normal scheduling'
        )
        self._validate()

        self.joint_names = list(JOINT_NAMES)
        self.state_pub = self.create_publisher(JointState, f'/{self.role}/joint_states', 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        if self.role == 'follower':
            self.create_subscription(JointState, f'/{self.role}/joint_commands', self._on_command, 10)
        self.create_service(SetBool, '~/enable_torque', self._on_enable_torque)
        self.create_timer(1.0, self._publish_diagnostics)

        self.arm: Arm | None = None
        self.connected = False
        self.torque_wanted = False  # what the user asked for (restored after a reconnect)
        self.torque_on = False
        self.target: np.ndarray | None = None  # latest valid command; None = hold
        self.last_goal: np.ndarray | None = None  # last goal sent
        self.problem = ''  # the current fault, '' when healthy
        self.rejected_commands = 0
        self._last_rejection, self._last_rejection_log = '', 0.0
        self.reconnects = 0
        self.states_published = 0
        self._next_reconnect = 0.0
        self._next_health = 0.0
        self._health = None
        self._cycle_ms: deque[float] = deque(maxlen=1000)
        self._window_start = time.monotonic()
        self._window_states = 0
        self.measured_hz = 0.0
        self._bus_lock = threading.Lock()  # the control thread and the torque service share the bus
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _validate(self) -> None:
        problems = []
        if self.role not in ROLES:
            problems.append(f"role {self.role!r} is not one of {', '.join(ROLES)}")
        if not 1.0 <= self.rate_hz <= 1000.0:
            problems.append(f'rate_hz {self.rate_hz} is outside 1..1000')
        if not 0.0 < self.max_step_rad <= 1.0:
            problems.append(f'max_step_rad {self.max_step_rad} is outside (0, 1]')
        if self.timeout_ms <= 0 or self.retries < 0:
            problems.append(f'timeout_ms ({self.timeout_ms}) must be > 0 and retries ({self.retries}) >= 0')
        if not 0 <= self.realtime_priority <= 99:
            problems.append(f'realtime_priority {self.realtime_priority} is outside 0..99')
        if self.reconnect_period_s <= 0 or self.health_period_s <= 0:
            problems.append('reconnect_period_s and health_period_s must be > 0')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))

    # --- start ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the calibration, open the port, check the servos, first read, torque (follower).

        Raises CalibrationError or BusError with a message that names the file/port/servos to fix.
        """
        if not self.calibration_file:
            raise CalibrationError('parameter calibration_file is empty: run `calibrate --port ... --role ...` and pass its output')
        calibration = ArmCalibration.load(self.calibration_file)
        bus = FeetechBus(self.port, self.baudrate, self.timeout_ms / 1000.0, self.retries)
        self.arm = Arm(bus, calibration)
        self.arm.connect()
        self.last_goal = self.arm.read_state().position
        self.connected = True
        if self.role == 'leader':
            self.arm.set_torque(False)  # a leader is moved by hand
        elif self.torque_on_start:
            self._enable_torque()
        self.get_logger().info(
            f'{self.role} arm on {self.port}: servos {self.arm.ids} answer, calibration {self.calibration_file}, '
            f'torque {"on" if self.torque_on else "off"}'
        )
        advice = latency_advice(self.port)
        if advice:
            self.get_logger().warning(advice)
        self._thread = threading.Thread(target=self._control_loop, name='so100-control', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the control thread and close the port (torque stays as it is: the arm holds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self.arm is not None:
            with self._bus_lock:
                self.arm.bus.close()

    def _control_loop(self) -> None:
        if self.realtime_priority:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.realtime_priority))
                self.get_logger().info(f'control thread {threading.get_native_id()} runs SCHED_FIFO {self.realtime_priority}')
            except PermissionError:
                self.get_logger().warning(
                    f'realtime_priority {self.realtime_priority}: not permitted (needs CAP_SYS_NICE or an rtprio limit); '
                    'running with normal scheduling'
                )
        period = 1.0 / self.rate_hz
        deadline = time.monotonic()
        while not self._stop.is_set():
            try:
                with self._bus_lock:
                    self._tick()
            except Exception as e:  # noqa: BLE001 - the control loop must outlive any one bad cycle
                if self._stop.is_set() or not self.context.ok():
                    break  # shutting down: the context went away under a publish
                self._report(f'unexpected error in the control tick: {type(e).__name__}: {e}')
            deadline += period
            delay = deadline - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -period:
                deadline = time.monotonic()  # more than a tick late: start again rather than burst

    def _enable_torque(self) -> None:
        assert self.arm is not None
        self.last_goal = self.arm.set_torque(True)
        self.target = None  # hold here until a new command arrives
        self.torque_on = self.torque_wanted = True

    # --- the control tick -----------------------------------------------------------------------------
    def _tick(self) -> None:
        """One control cycle (control thread, bus lock held)."""
        if self.arm is None:
            return
        now = time.monotonic()
        if not self.connected:
            if now >= self._next_reconnect:
                self._next_reconnect = now + self.reconnect_period_s
                self._reconnect()
            return
        t0 = time.perf_counter()
        try:
            state = self.arm.read_state()
            self._publish_state(state)
            if self.torque_on and self.last_goal is not None:
                target = self.target  # one read: the command callback swaps the reference
                target = self.last_goal if target is None else target
                goal = step_toward(self.last_goal, target, self.max_step_rad, self.arm.lower, self.arm.upper)
                self.arm.write_goals(goal)
                self.last_goal = goal
            if now >= self._next_health:
                self._next_health = now + self.health_period_s
                self._health = self.arm.read_health()
            self._cycle_ms.append((time.perf_counter() - t0) * 1000.0)
            if self.problem:
                self.get_logger().info(f'recovered: {self.problem}')
                self.problem = ''
        except BusTimeout as e:
            self._report(f'servo(s) {e.missing} not answering on {self.port}: {e}')
        except BusDisconnected as e:
            self.connected = False
            self.torque_on = False
            self._next_reconnect = now + self.reconnect_period_s
            self._report(f'bus {self.port} disconnected ({e}); reconnecting every {self.reconnect_period_s:g} s')

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            self.get_logger().error(problem)
        self.problem = problem

    def _reconnect(self) -> None:
        assert self.arm is not None
        try:
            self.arm.connect()
            # Re-read before any command: the arm may have moved while the bus was gone.
            self.last_goal = self.arm.read_state().position
            self.target = None
            if self.role == 'leader':
                self.arm.set_torque(False)
            elif self.torque_wanted:
                self._enable_torque()
            self.connected = True
            self.reconnects += 1
            self.get_logger().info(f'reconnected to {self.port}; holding at the re-read position')
            self.problem = ''
        except BusError as e:
            self.arm.bus.close()
            self._report(f'bus {self.port} disconnected, not back yet ({e}); retrying every {self.reconnect_period_s:g} s')

    def _publish_state(self, state) -> None:
        msg = JointState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.name = self.joint_names
        msg.position = state.position.tolist()
        msg.velocity = state.velocity.tolist()
        msg.effort = state.effort.tolist()
        self.state_pub.publish(msg)
        self.states_published += 1
        self._window_states += 1

    # --- commands and services ---------------------------------------------------------------------------
    def _on_command(self, msg: JointState) -> None:
        try:
            self.target = positions_by_name(list(msg.name), list(msg.position), self.joint_names)
        except JointMessageError as e:
            self.rejected_commands += 1
            now = time.monotonic()
            # One line per new reason, and at most one a second for a repeated one (a flood at 50 Hz).
            if str(e) != self._last_rejection or now - self._last_rejection_log >= 1.0:
                self.get_logger().warning(f'rejected joint command ({e}); holding the previous goal')
                self._last_rejection, self._last_rejection_log = str(e), now

    def _on_enable_torque(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        if request.data and self.role == 'leader':
            response.success, response.message = False, 'torque is never enabled on the leader arm'
        elif not self.connected or self.arm is None:
            response.success, response.message = False, f'not connected to {self.port}: {self.problem or "starting"}'
        else:
            try:
                with self._bus_lock:
                    if request.data:
                        self._enable_torque()
                    else:
                        self.arm.set_torque(False)
                        self.torque_on = self.torque_wanted = False
                response.success, response.message = True, f'torque {"on" if request.data else "off"}'
            except BusError as e:
                response.success, response.message = False, f'bus error: {e}'
        self.get_logger().info(f'enable_torque({request.data}): {response.message}')
        return response

    # --- diagnostics ----------------------------------------------------------------------------------------
    def _servo_flags(self) -> list[str]:
        """'<joint> (servo N): OVERHEAT|...' for every servo whose latest reply carried error bits."""
        if self.arm is None:
            return []
        flags = []
        for name, servo_id in zip(self.joint_names, self.arm.ids):
            bits = self.arm.bus.stats.servo(servo_id).last_status_error
            if bits:
                names = '|'.join(e.name for e in StatusError if bits & e) or f'0x{bits:02x}'
                flags.append(f'{name} (servo {servo_id}): {names}')
        return flags

    def _publish_diagnostics(self) -> None:
        with self._bus_lock:
            now = time.monotonic()
            self.measured_hz = self._window_states / max(now - self._window_start, 1e-9)
            self._window_start, self._window_states = now, 0
            cycles = np.array(self._cycle_ms) if self._cycle_ms else np.zeros(1)
            self._cycle_ms.clear()
        flagged = self._servo_flags()
        if self.problem:
            level, message = DiagnosticStatus.ERROR, self.problem
        elif flagged:
            level, message = DiagnosticStatus.WARN, 'servo status: ' + ', '.join(flagged)
        elif self.connected and self.measured_hz < 0.9 * self.rate_hz:
            level, message = DiagnosticStatus.WARN, f'publishing {self.measured_hz:.0f} Hz, below {self.rate_hz:g} Hz'
        elif self.connected:
            level, message = DiagnosticStatus.OK, f'connected, torque {"on" if self.torque_on else "off"}'
        else:
            level, message = DiagnosticStatus.WARN, 'starting'
        values = [
            ('connected', str(self.connected)),
            ('torque_on', str(self.torque_on)),
            ('rate_hz', f'{self.measured_hz:.1f}'),
            ('cycle_ms_p50', f'{np.percentile(cycles, 50):.2f}'),
            ('cycle_ms_max', f'{cycles.max():.2f}'),
            ('rejected_commands', str(self.rejected_commands)),
            ('reconnects', str(self.reconnects)),
        ]
        if self.arm is not None:
            stats = self.arm.bus.stats
            values += [('retries', str(stats.retries)), ('transactions', str(stats.transactions))]
            for name, servo_id in zip(self.joint_names, self.arm.ids):
                s = stats.servo(servo_id)
                values.append((f'{name}.errors', f'timeouts={s.timeouts} checksum={s.checksum_errors} status={s.status_errors} last_status=0x{s.last_status_error:02x}'))
            if self._health is not None:
                for name, v, t in zip(self.joint_names, self._health.voltage, self._health.temperature):
                    values += [(f'{name}.voltage_V', f'{v:.1f}'), (f'{name}.temperature_C', f'{t:.0f}')]
        status = DiagnosticStatus(
            level=level,
            name=f'{self.get_name()}: {self.role} arm',
            hardware_id=self.port,
            message=message,
            values=[KeyValue(key=k, value=v) for k, v in values],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)
    node = None
    try:
        node = So100Driver()
        try:
            node.start()
        except (CalibrationError, BusError, OSError) as e:
            node.get_logger().fatal(f'cannot start: {e}')
            raise SystemExit(1) from None
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.stop()
        rclpy.try_shutdown()
