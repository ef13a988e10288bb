"""Ctrl-C once, then ignored: so a node's shutdown code runs to the end under ``ros2 launch``.

A terminal's Ctrl-C reaches every process of the foreground group, and ``ros2 launch`` then forwards a
second SIGINT to each node it started. With Python's default handler the second one raises
KeyboardInterrupt inside the node's ``finally`` (stopping buses, closing the dataset writer), and the
node dies by the signal (launch: "process has died [exit code -2]"). Call :func:`raise_on_first_sigint`
first thing in ``main``, before ``rclpy.init`` (rclpy calls the handler it finds installed after its own).
"""

from __future__ import annotations

import signal

_received = False


def sigint_received() -> bool:
    """Whether the first SIGINT came: an error raised after it is the interrupt landing mid-call, not a fault."""
    return _received


def raise_on_first_sigint() -> None:
    """Install a SIGINT handler that raises KeyboardInterrupt the first time and ignores every later SIGINT.

    Ignoring means SIG_IGN, not a Python function that returns: Python resets its own handlers to SIG_DFL
    while the interpreter shuts down, and a SIGINT arriving then would still kill the process.
    """

    def handler(signum: int, frame: object) -> None:
        global _received
        _received = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
