"""Every robolearn node's ``main``: Ctrl-C once, build, start, spin, stop, shut down, exit code.

Why one: five nodes had their own copy, and each copy differed in what it did with a bad start or a
second Ctrl-C. A node class may define ``start()`` (I/O that must not run in the constructor, which
``check_launch`` calls without hardware), ``stop()`` (clean-up; runs however the node ends),
``finished`` (True ends the spin, e.g. the recorder after its last episode) and ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from robolearn_ros.interrupt_once import raise_on_first_sigint, sigint_received


def run_node(make_node: Callable[[], Node], start_errors: tuple[type[BaseException], ...] = (),
             args: list[str] | None = None) -> None:
    """Run one node until Ctrl-C, shutdown, or ``node.finished``; exit 1 on invalid parameters or a start error.

    ``start_errors``: exceptions of ``start()`` that mean "cannot start" (a missing port, a bad
    calibration): logged as one fatal line with the fix, instead of a traceback.
    """
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)  # Jazzy's rclpy.init() is not a context manager (Kilted's is)
    node: Node | None = None
    code = 0
    try:
        node = make_node()
        start = getattr(node, 'start', None)
        if start is not None:
            start()
        executor = SingleThreadedExecutor()  # one executor for the node's life: no wait-set rebuild per callback
        executor.add_node(node)
        if hasattr(type(node), 'finished'):
            # a timeout makes rclpy build a new timer at every wake-up: only nodes that can finish pay for it
            while rclpy.ok() and not node.finished:
                executor.spin_once(timeout_sec=0.1)
        else:
            executor.spin()
        code = getattr(node, 'exit_code', 0) or 0
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # Ctrl-C can land inside rclpy's C++ code (taking a message), which turns the KeyboardInterrupt into
        # "RuntimeError: Unable to convert call argument": after a SIGINT that is the interrupt, not a fault
        if not sigint_received():
            raise
    except (ValueError, *start_errors) as e:  # invalid parameters (constructor checks), or a start error
        if node is None:
            print(f'{e}', flush=True)
        else:
            node.get_logger().fatal(f'cannot start: {e}')
        code = 1
    finally:
        stop = getattr(node, 'stop', None)
        if stop is not None:
            stop()
        rclpy.try_shutdown()
    raise SystemExit(code)
