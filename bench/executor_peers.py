#!/usr/bin/env python3
"""Two executor loops that robolearn's executor_node is compared with in bench/executor.py (bench only).

- ``sleep_dt``: robolearn's own tick (queue in time, merges, safety filter: control.chunk_executor), but
  the loop sleeps ``1 / rate`` after each tick instead of waiting for an absolute deadline, as a plain
  ``while True: tick(); time.sleep(dt)`` loop does: every tick's own duration and every late wake-up
  stretches the period.
- ``pop_per_tick``: LeRobot's async-inference style queue: the chunk is a list of actions, one is popped
  per control tick whatever the chunk's own frame rate, the actions whose index has already passed
  (ticks since the observation) are skipped, and a new chunk replaces the queue; requests go out when
  len(queue) / chunk size < g. The command goes through the same per-tick step limit as robolearn's.

Both publish /follower/joint_commands (stamped at the tick) and /policy/request like executor_node, and
print their tick statistics as JSON when interrupted.

    python bench/executor_peers.py sleep_dt --ros-args -p aggregation:=blend -p threshold:=0.5
"""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.control.chunk_executor import ChunkExecutor, ExecutorSettings
from robolearn_core.control.chunk_validation import ChunkRejected, validate_chunk
from robolearn_core.control.safety import SafetyFilter, step_toward
from robolearn_core.so_arm.joints import JOINT_NAMES, LOWER, UPPER, JointMessageError, positions_by_name
from robolearn_ros.interrupt_once import raise_on_first_sigint
from robolearn_ros.trajectories import chunk_to_msg, msg_fields, to_stamp

PEERS = ('sleep_dt', 'pop_per_tick')


class PeerExecutor(Node):
    def __init__(self, variant: str) -> None:
        super().__init__('executor_node')
        self.variant = variant
        self.settings = ExecutorSettings(
            rate_hz=self.declare_parameter('rate_hz', 50.0).value,
            aggregation=self.declare_parameter('aggregation', 'blend').value,
            threshold=self.declare_parameter('threshold', 0.5).value,
            max_step=self.declare_parameter('max_step', 0.1).value,
            ramp_speed=self.declare_parameter('ramp_speed', 0.5).value)
        s = self.settings
        self.player = ChunkExecutor(s, SafetyFilter(LOWER, UPPER, s.max_step, s.ramp_speed, s.period))
        self.queue: list[np.ndarray] = []      # pop_per_tick: actions, one per tick
        self.chunk_size = 0
        self.last: np.ndarray | None = None
        self.stalls = 0
        self.ticks = 0
        self.requested_at: float | None = None
        self.lock = threading.Lock()
        self.command_pub = self.create_publisher(JointState, '/follower/joint_commands', 10)
        self.request_pub = self.create_publisher(JointTrajectory, '/policy/request', 10)
        self.create_subscription(JointTrajectory, '/policy/action_chunk', self._on_chunk, 10)
        self.create_subscription(JointState, '/follower/joint_states', self._on_state, 10)
        self.stop = threading.Event()

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_state(self, msg: JointState) -> None:
        try:
            q = positions_by_name(msg.name, msg.position, allow_extra=True)
        except JointMessageError:
            return
        with self.lock:
            self.player.on_state(q)
            if self.last is None:
                self.last = q

    def _on_chunk(self, msg: JointTrajectory) -> None:
        now = self.now()
        try:
            chunk = validate_chunk(*msg_fields(msg), now)
        except ChunkRejected:
            return
        with self.lock:
            if self.variant == 'sleep_dt':
                self.player.on_chunk(chunk, now)
            else:  # index-based: the actions whose tick has passed since the observation are skipped
                passed = int((now - chunk.stamp) * self.settings.rate_hz)
                self.queue = list(chunk.positions[passed:])
                self.chunk_size = len(chunk.positions)
                self.requested_at = None

    def loop(self) -> None:
        period = self.settings.period
        while not self.stop.is_set():
            with self.lock:
                now = self.now()
                command, request = (self._tick_time(now) if self.variant == 'sleep_dt' else self._tick_pop(now))
            if command is not None:
                msg = JointState(name=list(JOINT_NAMES), position=command.tolist())
                msg.header.stamp = to_stamp(now)
                self.command_pub.publish(msg)
            if request is not None:
                request.header.stamp = to_stamp(now)
                self.request_pub.publish(request)
            self.ticks += 1
            time.sleep(period)  # the naive loop: the tick's own time and any late wake-up add to the period

    def _tick_time(self, now: float):
        out = self.player.tick(now)
        request = None
        if out.requested:
            request = JointTrajectory(joint_names=list(JOINT_NAMES)) if out.request is None else \
                chunk_to_msg(out.request, JOINT_NAMES)
        return out.command, request

    def _tick_pop(self, now: float):
        if self.last is None:
            return None, None
        if self.queue:
            self.last = step_toward(self.last, self.queue.pop(0), self.settings.max_step, LOWER, UPPER)
        elif self.chunk_size:
            self.stalls += 1
        request = None
        low = not self.chunk_size or len(self.queue) / self.chunk_size < self.settings.threshold
        if low and (self.requested_at is None or now - self.requested_at > 1.0):
            self.requested_at = now
            request = JointTrajectory(joint_names=list(JOINT_NAMES))
        return self.last, request

    def stats(self) -> dict:
        stalls = self.player.stalls if self.variant == 'sleep_dt' else self.stalls
        return {'variant': self.variant, 'ticks': self.ticks, 'stalls': stalls}


def main() -> None:
    raise_on_first_sigint()
    variant = sys.argv[1]
    if variant not in PEERS:
        raise SystemExit(f'variant must be one of {PEERS}')
    rclpy.init(args=sys.argv)
    node = PeerExecutor(variant)
    thread = threading.Thread(target=node.loop, daemon=True)
    thread.start()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.stop.set()
        thread.join(1.0)
        print(json.dumps(node.stats()), flush=True)
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
