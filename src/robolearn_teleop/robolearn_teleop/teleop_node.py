"""teleop_node: the leader arm's joints become the follower's joint commands, at a fixed rate.

Subscribes ``/leader/joint_states`` (sensor_msgs/JointState, rad), publishes ``/follower/joint_commands``
(JointState positions, rad) at ``rate`` Hz (default 50) with the checks the driver applies too
(robolearn_core.so_arm.joints and control.safety: a malformed or non-finite leader state is dropped,
commands are clamped to the joint ranges and move at most ``max_step`` per tick). A leader silent for
longer than ``stale_timeout`` stops the commands (the follower's servos hold the last goal) and says so
on /diagnostics. ``max_step`` and ``stale_timeout`` can be changed while it runs (``ros2 param set``).
Works the same with a real leader arm and with the simulated world's leader.
"""

from __future__ import annotations

import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState

from robolearn_core.control.safety import step_toward
from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER, JointMessageError, positions_by_name
from robolearn_ros.diagnostics import OK, WARN, Status, publish_status_every
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, on_change, refuse_invalid


def _positive(what: str):
    return lambda value: '' if value > 0.0 else f'{what} {value} must be > 0'


class TeleopNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('teleop_node', **kwargs)
        p = lambda *a, **k: declare(self, *a, **k)  # noqa: E731
        self.rate = p('rate', 50.0, 'command rate, Hz')
        self.max_step = p('max_step', 0.1, 'largest change of a joint command per tick, rad', read_only=False)
        self.stale_timeout = p('stale_timeout', 0.25, 'stop commanding when the leader is silent this long, s',
                               read_only=False)
        self.joint_names = list(p('joint_names', list(JOINT_NAMES), 'joints copied from leader to follower, in order'))
        self.lower = np.array(p('lower_limits', LOWER.tolist(), 'per joint, rad'))
        self.upper = np.array(p('upper_limits', UPPER.tolist(), 'per joint, rad'))
        checks = {'max_step': _positive('max_step'), 'stale_timeout': _positive('stale_timeout')}
        refuse_invalid(self, [
            f'rate {self.rate} is outside (0, 1000] Hz' if not 0.0 < self.rate <= 1000.0 else '',
            'joint_names, lower_limits and upper_limits must have the same length'
            if not len(self.joint_names) == len(self.lower) == len(self.upper) else
            (f'lower_limits {self.lower.tolist()} must be below upper_limits {self.upper.tolist()}, joint by joint'
             if np.any(self.lower >= self.upper) else ''),
            *(check(getattr(self, name)) for name, check in checks.items()),
        ])
        on_change(self, checks, lambda name, value: setattr(self, name, value))

        self.command_pub = self.create_publisher(JointState, '/follower/joint_commands', 10)
        self.create_subscription(JointState, '/leader/joint_states', self._on_leader, qos_profile_sensor_data)
        self._leader: np.ndarray | None = None
        self._leader_time = 0.0
        self._last: np.ndarray | None = None  # last command sent
        self._problems: list[str] = []
        self.commands_sent = 0
        self.create_timer(1.0 / self.rate, self._tick)
        publish_status_every(self, 1.0, 'teleop', self._status)

    def _on_leader(self, msg: JointState) -> None:
        try:
            self._leader = positions_by_name(msg.name, msg.position, self.joint_names)
        except JointMessageError as e:
            self._problems = [f'leader joint state dropped: {e}']
            return
        self._leader_time = time.monotonic()

    def _stale(self) -> bool:
        return self._leader is None or time.monotonic() - self._leader_time > self.stale_timeout

    def _tick(self) -> None:
        if self._stale():
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

    def _status(self) -> Status:
        stale = self._stale()
        message = '; '.join((['no leader joint states: holding'] if stale else []) + self._problems) or 'following the leader'
        status = Status(WARN if stale or self._problems else OK, message, {'commands_sent': self.commands_sent})
        self._problems = []
        return status


def main(args: list[str] | None = None) -> None:
    run_node(TeleopNode, args=args)
