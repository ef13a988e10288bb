"""Frames from a source, at the camera's rate, through its failures: camera_node's capture thread.

Why apart from the node: pacing (a source that returns at once is read on the absolute schedule of
robolearn_core.control.fixed_rate; a device that blocks paces itself), counting the frames that never
came (ticks passed while the process was starved, or gaps between a device's frames), and closing and
reopening a failed source every ``reconnect_period`` are the camera's behaviour, tested without ROS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robolearn_camera.frame_sources import FrameSource, SourceError
from robolearn_core.control.fixed_rate import FixedRateSchedule


@dataclass
class CaptureState:
    """What diagnostics report about a camera, whichever way its frames come."""

    connected: bool = False
    last_error: str = ''
    dropped: int = 0
    reconnects: int = 0


class CaptureLoop:
    """Reads ``source`` until stopped and hands each RGB frame to ``publish``; logs through ``log_error``/``log_info``."""

    def __init__(self, source: FrameSource, fps: float, reconnect_period: float, publish: Callable[[np.ndarray], None],
                 log_error: Callable[[str], None], log_info: Callable[[str], None]) -> None:
        self.source = source
        self.fps = fps
        self.reconnect_period = reconnect_period
        self.publish = publish
        self.log_error, self.log_info = log_error, log_info
        self.state = CaptureState()
        self.frames = 0

    def _open(self) -> bool:
        try:
            self.source.open()
        except SourceError as exc:
            if str(exc) != self.state.last_error:
                self.log_error(f'{exc}; retrying every {self.reconnect_period:g} s')
            self.state.last_error = str(exc)
            return False
        if self.frames or self.state.last_error:
            self.state.reconnects += 1
        self.state.connected, self.state.last_error = True, ''
        self.log_info(f'streaming from {self.source.describe()}')
        return True

    def run(self, stop: threading.Event, context_ok: Callable[[], bool] = lambda: True) -> None:
        """Capture until ``stop`` is set (or publishing fails because the ROS context went away)."""
        schedule = FixedRateSchedule(self.fps)
        period = schedule.period
        last_t: float | None = None
        while not stop.is_set():
            if not self.state.connected:
                if not self._open():
                    stop.wait(self.reconnect_period)
                    continue
                schedule.restart()
                last_t = None
            if self.source.paced_by_node:
                tick = schedule.wait(stop)
                if tick is None:
                    break
                self.state.dropped += tick.missed  # fell behind (a stall): the frames we missed are skipped
            try:
                rgb = self.source.read()
            except SourceError as exc:
                self.log_error(f'{exc}; reconnecting')
                self.state.last_error, self.state.connected = str(exc), False
                self.source.close()
                stop.wait(self.reconnect_period)
                continue
            t = time.monotonic()
            if not self.source.paced_by_node and last_t is not None and t - last_t > 1.5 * period:
                self.state.dropped += int(round((t - last_t) / period)) - 1
            last_t = t
            try:
                self.publish(rgb)
            except Exception:  # noqa: BLE001 - at Ctrl-C rclpy invalidates the context under this thread
                if not context_ok():
                    break
                raise
            self.frames += 1
