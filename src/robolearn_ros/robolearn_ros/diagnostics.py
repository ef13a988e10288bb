"""One DiagnosticStatus a second on /diagnostics, the one way every node reports its health.

Why: rqt_robot_monitor and ``ros2 topic echo /diagnostics`` are where a user looks first; every node
reports under ``<node name>: <what>`` with a level, a one-line message and key/value details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


@dataclass
class Status:
    """What a node says about itself: level (OK/WARN/ERROR), one line, and details as strings."""

    level: bytes
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)
    hardware_id: str = ''


def publish_status_every(node: Node, period_s: float, what: str, report: Callable[[], Status | None]) -> None:
    """Publish ``report()`` on /diagnostics every ``period_s`` as ``<node name>: <what>``; None skips a period."""
    publisher = node.create_publisher(DiagnosticArray, '/diagnostics', 10)

    def publish() -> None:
        status = report()
        if status is None:
            return
        msg = DiagnosticArray(status=[DiagnosticStatus(
            level=status.level, name=f'{node.get_name()}: {what}', hardware_id=status.hardware_id,
            message=status.message, values=[KeyValue(key=k, value=str(v)) for k, v in status.values.items()])])
        msg.header.stamp = node.get_clock().now().to_msg()
        publisher.publish(msg)

    node.create_timer(period_s, publish)
