"""Real-time scheduling for a node's control thread, when the user asks for it and the system allows it.

Why: on a busy 2-core machine a control loop (the driver's bus cycle, the executor's 50 Hz tick) waits
behind other processes for the CPU; SCHED_FIFO lets it run the moment its deadline comes. It needs
CAP_SYS_NICE (root, or an rtprio limit in /etc/security/limits.conf); without it the node says so and
runs with normal scheduling.
"""

from __future__ import annotations

import os
import sys
import threading


def use_realtime_priority(priority: int, logger) -> bool:
    """Put the calling thread on SCHED_FIFO ``priority`` (1..99; 0 does nothing); whether it did."""
    if not priority:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError:
        logger.warning(f'realtime_priority {priority}: not permitted (needs CAP_SYS_NICE or an rtprio limit); '
                       'running with normal scheduling')
        return False
    logger.info(f'thread {threading.get_native_id()} ({threading.current_thread().name}) runs SCHED_FIFO {priority}')
    return True


def serve_callbacks_realtime(loop_priority: int, logger) -> bool:
    """Run the calling thread (the one that spins the node's callbacks) on SCHED_FIFO one below the loop's
    priority, and let threads take the GIL every 0.5 ms instead of 5 ms.

    Why: a SCHED_FIFO loop thread still needs the GIL, and the lock its callbacks share, to tick. Measured in
    bench/executor.py on 2 loaded cores with only the loop thread real-time: period error p50 0.07 ms but p99
    14 ms, max 26 ms; the callback thread, preempted by ordinary processes while it held them, kept the loop
    waiting. Call before starting the loop thread (threads inherit the policy; the loop then raises its own).
    """
    if not loop_priority:
        return False
    sys.setswitchinterval(0.0005)
    return use_realtime_priority(max(1, loop_priority - 1), logger)
