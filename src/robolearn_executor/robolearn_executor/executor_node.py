"""executor_node: plays the policy's action chunks on the follower at a fixed rate (50 Hz), safely.

Subscribes ``/policy/action_chunk`` (trajectory_msgs/JointTrajectory: stamp = the observation time,
point i at time_from_start, radians) and ``/follower/joint_states``; publishes ``/follower/joint_commands``
(JointState positions, rad) every tick and ``/policy/request`` (JointTrajectory: stamp = now, points =
the setpoints still to execute) when remaining / horizon < ``threshold``. Services: ``~/emergency_stop``
(hold, and switch the follower's torque off through ``torque_service``) and ``~/reset`` (a new episode:
empty queue, ramp from the measured position, torque back on after an emergency stop). ``threshold`` can
be changed while it runs. ``/diagnostics``: queue, chunk age, delay estimate, period error, stalls, holds,
rejected chunks by reason, switch jumps and jerk.

Wiring only: the tick is robolearn_core.control.chunk_executor (queue, merge modes, delay, requests,
safety filter), chunk checks control.chunk_validation, the loop control.fixed_rate on an absolute
schedule in a thread of its own; topics and services hand data to it under one lock. Stamps and the
queue run on the node's ROS clock, which must be the policy node's (one machine, or NTP/chrony between two).
"""

from __future__ import annotations

import threading

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.control.action_queue import MODES
from robolearn_core.control.chunk_executor import ChunkExecutor, ExecutorSettings
from robolearn_core.control.chunk_validation import ChunkRejected, validate_chunk
from robolearn_core.control.fixed_rate import FixedRateSchedule
from robolearn_core.control.safety import SafetyFilter
from robolearn_core.so_arm.joints import JOINT_NAMES, JointMessageError, positions_by_name
from robolearn_ros.diagnostics import ERROR, OK, WARN, Status, publish_status_every
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, on_change, refuse_invalid
from robolearn_ros.realtime import serve_callbacks_realtime, use_realtime_priority
from robolearn_ros.rejections import RejectionLog
from robolearn_ros.trajectories import chunk_to_msg, msg_fields, to_stamp


class ExecutorNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('executor_node', **kwargs)
        p = lambda *a, **k: declare(self, *a, **k)  # noqa: E731
        self.settings = ExecutorSettings(
            rate_hz=p('rate_hz', 50.0, 'commands per second, on an absolute schedule'),
            aggregation=p('aggregation', 'blend', f'how a new chunk merges with the queued one: {", ".join(MODES)}'),
            threshold=p('threshold', 0.5, 'g: ask for the next chunk once remaining / horizon < g (0, 1]; changeable '
                        'while running', read_only=False),
            ensemble_m=p('ensemble_m', 0.01, 'temporal_ensemble: weight exp(-m i), i the dataset steps of age after '
                                                 'the oldest (ACT: 0.01; < 0: the newest dominates; |m| <= 1)'),
            blend_window=p('blend_window', 0.2, 'blend: seconds of crossfade from the queued plan to the new chunk'),
            max_step=p('max_step', 0.1, 'largest command change per tick, rad'),
            ramp_speed=p('ramp_speed', 0.5, 'rad/s from the measured position at start, after a hold, after reset'),
            request_timeout=p('request_timeout', 1.0, 'seconds before a request no chunk answered is sent again'),
            stale_after=p('stale_after', 1.0, 'seconds without a chunk after which the policy is reported stale'),
            delay_floor=p('delay_floor', 0.0, 'lower bound of the inference delay estimate, s'),
        )
        self.calibration_file = p('calibration_file', '', "follower calibration JSON: joint limits from its range; '' = "
                                  'the SO-101 defaults')
        self.chunk_max_age = p('chunk_max_age', 1.0, 'refuse chunks whose observation is older than this, s')
        self.chunk_max_future = p('chunk_max_future', 0.05, 'refuse chunks stamped further in the future, s (clock skew)')
        self.limit_tolerance = p('limit_tolerance', 0.1, 'chunk setpoints past a joint limit by up to this (rad) are '
                                 'clamped to it; further: the chunk is refused')
        self.max_joint_speed = p('max_joint_speed', 0.0, 'refuse chunks moving a joint faster than this, rad/s; 0: no '
                                 'limit')
        self.realtime_priority = p('realtime_priority', 0, 'SCHED_FIFO priority (1..99) of the loop thread on a busy '
                                   'machine, the callback thread one below (needs CAP_SYS_NICE); 0 = normal scheduling')
        self.torque_service = p('torque_service', '/so100_follower/enable_torque',
                                "the follower driver's SetBool service the emergency stop switches torque off with")
        refuse_invalid(self, self.settings.problems() + [
            'chunk_max_age and chunk_max_future must be > 0'
            if not (self.chunk_max_age > 0 and self.chunk_max_future > 0) else '',
            f'max_joint_speed {self.max_joint_speed} must be >= 0' if self.max_joint_speed < 0 else '',
            f'limit_tolerance {self.limit_tolerance} must be >= 0' if self.limit_tolerance < 0 else '',
            f'realtime_priority {self.realtime_priority} is outside 0..99' if not 0 <= self.realtime_priority <= 99 else ''])
        on_change(self, {'threshold': lambda g: '' if 0.0 < g <= 1.0 else f'{g} is outside (0, 1]'}, self._set_threshold)

        self.command_pub = self.create_publisher(JointState, '/follower/joint_commands', 10)
        self.request_pub = self.create_publisher(JointTrajectory, '/policy/request', 10)
        self.create_subscription(JointTrajectory, '/policy/action_chunk', self._on_chunk, 10)
        self.create_subscription(JointState, '/follower/joint_states', self._on_state, 10)
        self.create_service(Trigger, '~/emergency_stop', self._on_emergency_stop)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.torque = self.create_client(SetBool, self.torque_service)
        self.rejections = RejectionLog(self.get_logger().warning)
        self.player: ChunkExecutor | None = None
        self.limits = None
        self.schedule = FixedRateSchedule(self.settings.rate_hz)
        self.holding = ''
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        publish_status_every(self, 1.0, 'executor', self._status)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # --- start and stop -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Read the calibration's limits (raises CalibrationError with the fix) and start the loop."""
        calibration = ArmCalibration.load(self.calibration_file) if self.calibration_file else None
        s = self.settings
        safety = SafetyFilter.from_calibration(calibration, s.max_step, s.ramp_speed, s.period)
        self.limits = (safety.lower, safety.upper)
        self.player = ChunkExecutor(s, safety)
        serve_callbacks_realtime(self.realtime_priority, self.get_logger())
        self._thread = threading.Thread(target=self._loop, name='executor', daemon=True)
        self._thread.start()
        self.get_logger().info(f'executor at {s.rate_hz:g} Hz, aggregation {s.aggregation}, threshold {s.threshold}, '
                               f'limits from {self.calibration_file or "the SO-101 defaults"}')

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _loop(self) -> None:
        use_realtime_priority(self.realtime_priority, self.get_logger())
        self.schedule.restart()
        while self.schedule.wait(self._stop) is not None:
            with self._lock:
                now = self.now()
                out = self.player.tick(now)
            if out.holding != self.holding:
                if out.holding:
                    self.get_logger().warning(f'holding: {out.holding}')
                self.holding = out.holding
            try:
                if out.command is not None:
                    msg = JointState(name=list(JOINT_NAMES), position=out.command.tolist())
                    msg.header.stamp = to_stamp(now)
                    self.command_pub.publish(msg)
                if out.requested:
                    request = JointTrajectory(joint_names=list(JOINT_NAMES)) if out.request is None else \
                        chunk_to_msg(out.request, JOINT_NAMES)
                    request.header.stamp = to_stamp(now)
                    self.request_pub.publish(request)
            except Exception:  # noqa: BLE001 - at Ctrl-C rclpy invalidates the context under this thread
                if not self.context.ok():
                    return
                raise

    # --- inputs ---------------------------------------------------------------------------------------------
    def _on_state(self, msg: JointState) -> None:
        try:
            positions = positions_by_name(msg.name, msg.position, allow_extra=True)
        except JointMessageError:
            return  # the driver's own messages are well formed; anything else is not the follower's state
        if self.player is not None:
            with self._lock:
                self.player.on_state(positions)

    def _on_chunk(self, msg: JointTrajectory) -> None:
        if self.player is None:
            return
        names, positions, times, stamp = msg_fields(msg)
        now = self.now()
        try:
            chunk = validate_chunk(names, positions, times, stamp, now, max_age=self.chunk_max_age,
                                   max_future=self.chunk_max_future, lower=self.limits[0], upper=self.limits[1],
                                   limit_tolerance=self.limit_tolerance, max_speed=self.max_joint_speed or None)
        except ChunkRejected as e:
            self.rejections.reject(e.kind, f'rejected chunk ({e}); holding the queued plan')
            return
        with self._lock:
            self.player.on_chunk(chunk, now)

    def _set_threshold(self, _name: str, value: float) -> None:
        with self._lock:
            self.player.queue.threshold = value

    # --- services -------------------------------------------------------------------------------------------
    def _on_emergency_stop(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        with self._lock:
            self.player.emergency_stop('emergency stop service')
        torque = self._set_torque(False)
        resp.success, resp.message = True, f'holding; {torque}'
        self.get_logger().error(f'emergency stop: {resp.message}')
        return resp

    def _on_reset(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        with self._lock:
            stopped = not self.player.running
            self.player.reset()
        resp.success, resp.message = True, 'new episode: ramping from the measured position'
        if stopped:
            resp.message += f'; {self._set_torque(True)}'
        self.get_logger().info(resp.message)
        return resp

    def _set_torque(self, on: bool) -> str:
        """Ask the driver to switch torque (asynchronously: a service callback must not wait on another service)."""
        if not self.torque.service_is_ready():
            return f'torque service {self.torque_service} is not available: torque unchanged'
        self.torque.call_async(SetBool.Request(data=on))
        return f'torque {"on" if on else "off"} asked of {self.torque_service}'

    # --- diagnostics ----------------------------------------------------------------------------------------
    def _status(self) -> Status:
        if self.player is None:
            return Status(WARN, 'starting')
        with self._lock:
            values = self.player.status(self.now())
        late = self.schedule.lateness_ms()
        values |= {'period_err_ms_p50': f'{late["p50"]:.3f}', 'period_err_ms_p99': f'{late["p99"]:.3f}',
                   'period_err_ms_max': f'{late["max"]:.3f}', 'missed_ticks': self.schedule.missed_total,
                   'rejected_chunks': self.rejections.total, 'aggregation': self.settings.aggregation,
                   'threshold': self.player.queue.threshold,
                   **{f'rejected: {reason}': n for reason, n in self.rejections.by_reason.items()}}
        if not self.player.running:
            return Status(ERROR, self.holding, values)
        if self.holding and self.player.chunks:
            return Status(WARN, f'holding: {self.holding}', values)
        return Status(OK, self.holding or 'playing chunks', values)


def main(args: list[str] | None = None) -> None:
    run_node(ExecutorNode, start_errors=(CalibrationError,), args=args)
