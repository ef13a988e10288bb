"""teleop_node: the leader arm's joints become the follower's joint commands, at a fixed rate.

Subscribes ``/leader/joint_states`` (sensor_msgs/JointState, rad), publishes
``/follower/joint_commands`` (JointState positions, rad) at ``rate`` Hz (default 50) through
robolearn_core.control.safety, the same checks the driver applies (a malformed or non-finite leader state
is dropped, commands are clamped to the joint ranges and move at most ``max_step`` per tick). A leader silent for
longer than ``stale_timeout`` stops the commands (the follower's servos hold the last goal) and says so
on /diagnostics. Works the same with a real leader arm and with the simulated world's leader.
"""

from __future__ import annotations

import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState

from robolearn_core.interrupt_once import raise_on_first_sigint
from robolearn_core.control.safety import step_toward
from robolearn_core.so_arm.joints import LOWER, UPPER, JointMessageError, positions_by_name
from robolearn_core.so_arm.joints import JOINT_NAMES


class TeleopNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('teleop_node', **kwargs)
        ro = dict(read_only=True)
        self.rate = self.declare_parameter('rate', 50.0, ParameterDescriptor(description='command rate, Hz', **ro)).value
        self.max_step = self.declare_parameter(
            'max_step', 0.1, ParameterDescriptor(description='largest change of a joint command per tick, rad', **ro)
        ).value
        self.stale_timeout = self.declare_parameter(
            'stale_timeout', 0.25, ParameterDescriptor(description='stop commanding when the leader is silent this long, s', **ro)
        ).value
        self.joint_names = list(self.declare_parameter(
            'joint_names', list(JOINT_NAMES), ParameterDescriptor(description='joints copied from leader to follower, in order', **ro)
        ).value)
        self.lower = list(self.declare_parameter(
            'lower_limits', LOWER.tolist(), ParameterDescriptor(description='per joint, rad', **ro)
        ).value)
        self.upper = list(self.declare_parameter(
            'upper_limits', UPPER.tolist(), ParameterDescriptor(description='per joint, rad', **ro)
        ).value)
        problems = []
        if not 0.0 < self.rate <= 1000.0:
            problems.append(f'rate {self.rate} is outside (0, 1000] Hz')
        if not (len(self.joint_names) == len(self.lower) == len(self.upper)):
            problems.append('joint_names, lower_limits and upper_limits must have the same length')
        elif any(lo >= hi for lo, hi in zip(self.lower, self.upper)):
            problems.append(f'lower_limits {self.lower} must be below upper_limits {self.upper}, joint by joint')
        if not self.max_step > 0.0:
            problems.append(f'max_step {self.max_step} must be > 0 rad')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))
        self.lower, self.upper = np.array(self.lower), np.array(self.upper)
        self._last: np.ndarray | None = None  # last command sent

        self.command_pub = self.create_publisher(JointState, '/follower/joint_commands', 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(JointState, '/leader/joint_states', self._on_leader, qos_profile_sensor_data)
        self._leader: np.ndarray | None = None
        self._leader_time = 0.0
        self._problems: list[str] = []
        self.commands_sent = 0
        self.create_timer(1.0 / self.rate, self._tick)
        self.create_timer(1.0, self._publish_diagnostics)

    def _on_leader(self, msg: JointState) -> None:
        try:
            self._leader = positions_by_name(msg.name, msg.position, self.joint_names)
        except JointMessageError as e:
            self._problems = [f'leader joint state dropped: {e}']
            return
        self._leader_time = time.monotonic()

    def _tick(self) -> None:
        if self._leader is None or time.monotonic() - self._leader_time > self.stale_timeout:
            return
        clamped = np.clip(self._leader, self.lower, self.upper)
        command = clamped if self._last is None else step_toward(self._last, clamped, self.max_step, self.lower, self.upper)
        if np.any(clamped != self._leader):
            self._problems = ['joint command clamped to the joint limits']
        if np.any(command != clamped):
            self._problems = [f'joint command step limited to {self.max_step} rad']
        self._last = command
        msg = JointState(name=self.joint_names, position=command.tolist())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.command_pub.publish(msg)
        self.commands_sent += 1

    def _publish_diagnostics(self) -> None:
        stale = self._leader is None or time.monotonic() - self._leader_time > self.stale_timeout
        level = DiagnosticStatus.WARN if stale or self._problems else DiagnosticStatus.OK
        message = '; '.join((['no leader joint states: holding'] if stale else []) + self._problems) or 'following the leader'
        status = DiagnosticStatus(
            level=level, name=f'{self.get_name()}: teleop', message=message,
            values=[KeyValue(key='commands_sent', value=str(self.commands_sent))],
        )
        self._problems = []
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)
    try:
        rclpy.spin(TeleopNode())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()
