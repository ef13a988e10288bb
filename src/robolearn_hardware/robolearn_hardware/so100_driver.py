"""so100_driver: one SO-100/SO-101 arm (follower or leader) on a Feetech bus, as ROS topics.

Publishes ``/<role>/joint_states`` (rad, rad/s, effort as a fraction of max torque) every tick; the
follower applies ``/<role>/joint_commands`` (JointState positions, rad) through a step limit and the
calibrated range. Torque comes on only after the calibration was checked against the servos and a first
position read, and never on the leader. ``~/enable_torque`` (std_srvs/SetBool) switches it.
``/diagnostics`` (1 Hz): bus cycle time, rate, retries, errors per servo, voltage, temperature.

Wiring only: the arm's state machine (faults, reconnects, torque, the step limit) is
robolearn_core.feetech.arm_controller; its tick runs on a thread of its own at ``rate_hz`` on an absolute
schedule (robolearn_core.control.fixed_rate), so executor work (commands, services, diagnostics) never
delays it. Only a bad start (no port, missing servos, bad calibration) exits, with the fix.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool

from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.control.fixed_rate import FixedRateSchedule
from robolearn_core.feetech.arm_controller import ArmController, ArmSettings
from robolearn_core.feetech.bus import BusError
from robolearn_core.feetech.usb_latency import latency_advice
from robolearn_core.so_arm.joints import JOINT_NAMES, JointMessageError, positions_by_name
from robolearn_ros.diagnostics import ERROR, OK, WARN, Status, publish_status_every
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, refuse_invalid
from robolearn_ros.realtime import use_realtime_priority
from robolearn_ros.rejections import RejectionLog


class So100Driver(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('so100_driver', **kwargs)
        p = lambda *a: declare(self, *a)  # noqa: E731
        self.role = p('role', 'follower', 'follower (commands applied, torque allowed) or leader (read only, torque never on)')
        port = p('port', '/dev/ttyACM0', 'serial device of the arm (a stable udev symlink is best)')
        self.calibration_file = p('calibration_file', '', 'LeRobot calibration JSON of this arm (written by `calibrate`)')
        self.settings = ArmSettings(
            port=port, role=self.role,
            baudrate=p('baudrate', 1_000_000, 'bus baud rate (STS3215 default 1000000)'),
            timeout_s=p('timeout_ms', 20.0, 'wait for servo replies beyond their wire time, ms') / 1000.0,
            retries=p('retries', 2, 'repeats of a read for servos that did not answer'),
            max_step_rad=p('max_step_rad', 0.05, 'largest goal change per tick, rad (follower)'),
            torque_on_start=p('torque_on_start', True, 'follower: enable torque once connected and calibrated'),
            reconnect_period_s=p('reconnect_period_s', 0.5, 'seconds between attempts to reopen a vanished port'),
            health_period_s=p('health_period_s', 1.0, 'seconds between voltage/temperature reads'),
            silent_error_s=p('silent_error_s', 1.0, 'servos silent for less than this log a warning, longer an ERROR'),
        )
        self.rate_hz = p('rate_hz', 125.0, 'control ticks per second: one state read (+ one goal write) each')
        self.realtime_priority = p('realtime_priority', 0, 'SCHED_FIFO priority (1..99) for the control thread on '
                                   'a busy machine; 0 = normal scheduling')
        refuse_invalid(self, self.settings.problems() + [
            f'rate_hz {self.rate_hz} is outside 1..1000' if not 1.0 <= self.rate_hz <= 1000.0 else '',
            f'realtime_priority {self.realtime_priority} is outside 0..99' if not 0 <= self.realtime_priority <= 99 else '',
        ])

        self.state_pub = self.create_publisher(JointState, f'/{self.role}/joint_states', 10)
        if self.role == 'follower':
            self.create_subscription(JointState, f'/{self.role}/joint_commands', self._on_command, 10)
        self.create_service(SetBool, '~/enable_torque', self._on_enable_torque)
        publish_status_every(self, 1.0, f'{self.role} arm', self._status)
        self.controller: ArmController | None = None
        self.rejections = RejectionLog(self.get_logger().warning)
        self._window_start, self._window_states = time.monotonic(), 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load the calibration, connect (raises CalibrationError/BusError with the fix), start the control thread."""
        if not self.calibration_file:
            raise CalibrationError(
                'parameter calibration_file is empty: run `calibrate --port ... --role ...` and pass its output'
            )
        log = self.get_logger()
        self.controller = ArmController(self.settings, ArmCalibration.load(self.calibration_file), log)
        self.controller.connect()
        log.info(
            f'{self.role} arm on {self.settings.port}: servos {self.controller.arm.ids} answer, calibration '
            f'{self.calibration_file}, torque {"on" if self.controller.torque_on else "off"}'
        )
        advice = latency_advice(self.settings.port)
        if advice:
            log.warning(advice)
        self._thread = threading.Thread(target=self._control_loop, name='so100-control', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the control thread and close the port (torque stays as it is: the arm holds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self.controller is not None:
            self.controller.close()

    def _control_loop(self) -> None:
        use_realtime_priority(self.realtime_priority, self.get_logger())
        schedule = FixedRateSchedule(self.rate_hz)
        while schedule.wait(self._stop) is not None:
            try:
                state = self.controller.tick()
                if state is not None:
                    self._publish_state(state)
            except Exception as e:  # noqa: BLE001 - the control loop must outlive any one bad cycle
                if self._stop.is_set() or not self.context.ok():
                    break  # shutting down: the context went away under a publish
                self.controller.report_error(f'unexpected error in the control tick: {type(e).__name__}: {e}')

    def _publish_state(self, state) -> None:
        msg = JointState(
            name=list(JOINT_NAMES),
            position=state.position.tolist(),
            velocity=state.velocity.tolist(),
            effort=state.effort.tolist(),
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        self.state_pub.publish(msg)
        self._window_states += 1

    def _on_command(self, msg: JointState) -> None:
        try:
            self.controller.set_target(positions_by_name(msg.name, msg.position))
        except JointMessageError as e:
            self.rejections.reject(str(e), f'rejected joint command ({e}); holding the previous goal')

    def _on_enable_torque(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        if self.controller is None:
            response.success, response.message = False, f'not connected to {self.settings.port}: starting'
        else:
            response.success, response.message = self.controller.set_torque(request.data)
        self.get_logger().info(f'enable_torque({request.data}): {response.message}')
        return response

    def _status(self) -> Status:
        now = time.monotonic()
        measured_hz = self._window_states / max(now - self._window_start, 1e-9)
        self._window_start, self._window_states = now, 0
        c = self.controller
        if c is None:
            return Status(WARN, 'starting', hardware_id=self.settings.port)
        cycles = c.take_cycle_times()
        flagged = c.servo_flags()
        if c.problem:
            level, message = (WARN if c.briefly_silent else ERROR), c.problem
        elif flagged:
            level, message = WARN, 'servo status: ' + ', '.join(flagged)
        elif c.connected and measured_hz < 0.9 * self.rate_hz:
            level, message = WARN, f'publishing {measured_hz:.0f} Hz, below {self.rate_hz:g} Hz'
        elif c.connected:
            level, message = OK, f'connected, torque {"on" if c.torque_on else "off"}'
        else:
            level, message = WARN, 'starting'
        values = {
            'connected': c.connected,
            'torque_on': c.torque_on,
            'rate_hz': f'{measured_hz:.1f}',
            'cycle_ms_p50': f'{np.percentile(cycles, 50):.2f}',
            'cycle_ms_max': f'{cycles.max():.2f}',
            'rejected_commands': self.rejections.total,
            'silences': c.silences,
            'reconnects': c.reconnects,
            **c.bus_values(),
        }
        return Status(level, message, values, hardware_id=self.settings.port)


def main(args: list[str] | None = None) -> None:
    run_node(So100Driver, start_errors=(CalibrationError, BusError, OSError), args=args)
