"""teleop_node: the leader arm's joints become the follower's joint commands, at a fixed rate.

Subscribes ``/leader/joint_states`` (sensor_msgs/JointState, rad), publishes
``/follower/joint_commands`` (JointState positions, rad) at ``rate`` Hz (default 50) through
robolearn_core's joint command limits (joint ranges, max step per tick, no NaN). A leader silent for
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

from robolearn_core.joint_command_limits import SO101_LOWER, SO101_UPPER, JointCommandLimits
from robolearn_core.sim_joints import SO_JOINT_NAMES


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
            'joint_names', list(SO_JOINT_NAMES), ParameterDescriptor(description='joints copied from leader to follower, in order', **ro)
        ).value)
        self.lower = list(self.declare_parameter(
            'lower_limits', SO101_LOWER.tolist(), ParameterDescriptor(description='per joint, rad', **ro)
        ).value)
        self.upper = list(self.declare_parameter(
            'upper_limits', SO101_UPPER.tolist(), ParameterDescriptor(description='per joint, rad', **ro)
        ).value)
        problems = []
        if not 0.0 < self.rate <= 1000.0:
            problems.append(f'rate {self.rate} is outside (0, 1000] Hz')
        if not (len(self.joint_names) == len(self.lower) == len(self.upper)):
            problems.append('joint_names, lower_limits and upper_limits must have the same length')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))
        self.limits = JointCommandLimits(np.array(self.lower), np.array(self.upper), self.max_step)

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
        index = {name: i for i, name in enumerate(msg.name)}
        missing = [n for n in self.joint_names if n not in index]
        if missing or len(msg.position) != len(msg.name):
            self._problems = [f'leader joint state lacks {missing or "positions"}']
            return
        self._leader = np.array([msg.position[index[n]] for n in self.joint_names])
        self._leader_time = time.monotonic()

    def _tick(self) -> None:
        if self._leader is None or time.monotonic() - self._leader_time > self.stale_timeout:
            return
        command, problems = self.limits.apply(self._leader)
        if problems:
            self._problems = problems
        if command is None:
            return
        msg = JointState(name=self.joint_names, position=command.tolist())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.command_pub.publish(msg)
        self.commands_sent += 1

    def _publish_diagnostics(self) -> None:
        stale = self._leader is None or time.monotonic() - self._leader_time > self.stale_timeout
        level = DiagnosticStatus.WARN if stale or self._problems else DiagnosticStatus.OK
        message = 'no leader joint states: holding' if stale else '; '.join(self._problems) or 'following the leader'
        status = DiagnosticStatus(
            level=level, name=f'{self.get_name()}: teleop', message=message,
            values=[KeyValue(key='commands_sent', value=str(self.commands_sent))],
        )
        self._problems = []
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    try:
        rclpy.spin(TeleopNode())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()
