"""Parameters in one style for every node: declared with a description, checked, refused with every reason.

Why: ``ros2 param describe`` is the user's documentation of a node, so every parameter carries its
description; a node refuses bad values at start with all the reasons at once, and parameters that may
change while the node runs are checked in a set-parameters callback, so a bad ``ros2 param set`` is
refused with the reason instead of reaching the control loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter


def declare(node: Node, name: str, default: Any, description: str, *, read_only: bool = True) -> Any:
    """Declare ``name`` with its description and return its value (YAML or launch overrides applied)."""
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    return node.declare_parameter(name, default, descriptor).value


def refuse_invalid(node: Node, problems: Iterable[str]) -> None:
    """Raise ValueError naming the node and every problem, if there is any."""
    problems = [p for p in problems if p]
    if problems:
        raise ValueError(f'{node.get_name()}: invalid parameters: ' + '; '.join(problems))


#: A check of one run-time parameter: the reason the value is refused, or '' to accept it.
Check = Callable[[Any], str]


def on_change(node: Node, checks: Mapping[str, Check], apply: Callable[[str, Any], None]) -> None:
    """Accept ``ros2 param set`` on the parameters in ``checks`` when their check passes, then ``apply`` them.

    A refused change leaves the node as it was and returns the reason to the caller.
    """

    def callback(params: list[Parameter]) -> SetParametersResult:
        reasons = [f'{p.name}: {reason}' for p in params if p.name in checks and (reason := checks[p.name](p.value))]
        if reasons:
            return SetParametersResult(successful=False, reason='; '.join(reasons))
        for p in params:
            if p.name in checks:
                apply(p.name, p.value)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(callback)
