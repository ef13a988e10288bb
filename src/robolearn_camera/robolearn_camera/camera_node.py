"""camera_node: publishes sensor_msgs/Image and CameraInfo for one camera.

Sources (``source`` parameter, classes in frame_sources.py): ``pattern`` (colour bars, every pixel known),
``opencv`` (a camera by index or path, with width/height/fps/fourcc), ``file`` (plays a video file), and
``sim`` (renders the simulated world's camera ``camera_name``: robolearn_camera.sim_source).
A capture thread (capture_loop.py) reads frames, stamps each at capture time and publishes it; when the
source fails it is closed and reopened every ``reconnect_period`` seconds. ``sim`` renders on a timer of
the node instead (its EGL context and the world-state subscriptions stay on the executor thread).
Measured fps, dropped frames and the connection state go to /diagnostics once a second.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from robolearn_camera.capture_loop import CaptureLoop, CaptureState
from robolearn_camera.frame_sources import SOURCES, SourceConfig
from robolearn_camera.sim_source import SimFrameSource
from robolearn_ros.diagnostics import ERROR, OK, WARN, Status, publish_status_every
from robolearn_ros.image_conversion import array_to_image, convert_channels
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, refuse_invalid

#: every value of the source parameter
SOURCE_NAMES = (*SOURCES, 'sim')


class CameraNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('camera_node', **kwargs)
        p = lambda *a: declare(self, *a)  # noqa: E731
        self.camera_name = p('camera_name', 'front', 'topics go to /cameras/<camera_name>/')
        self.source_name = p('source', 'pattern', f'one of {", ".join(SOURCE_NAMES)}')
        self.width = p('width', 128, 'pixels (frames of another size are resized to it)')
        self.height = p('height', 96, 'pixels')
        self.fps = p('fps', 30.0, 'frames per second (asked of the camera; the pace of pattern and file)')
        self.encoding = p('encoding', 'rgb8', 'rgb8 (LeRobot convention), bgr8 or mono8')
        self.frame_id = p('frame_id', '', "header.frame_id; '' means <camera_name>_camera") or f'{self.camera_name}_camera'
        device = p('device', '', "opencv: index ('0') or path (/dev/video0); file: the video file")
        fourcc = p('fourcc', 'MJPG', "opencv: pixel format asked of the camera (MJPG lets USB cameras reach 30 fps at "
                   "640x480); '' keeps the driver's")
        loop = p('loop', True, 'file: start again at the end of the video')
        self.reconnect_period = p('reconnect_period', 1.0, 'seconds between attempts to reopen a failed source')
        refuse_invalid(
            self,
            [
                f"source {self.source_name!r} is not one of {', '.join(SOURCE_NAMES)}"
                if self.source_name not in SOURCE_NAMES
                else '',
                f'encoding {self.encoding!r} is not one of rgb8, bgr8, mono8'
                if self.encoding not in ('rgb8', 'bgr8', 'mono8')
                else '',
                f'width x height {self.width}x{self.height} is outside 8..4096'
                if not (8 <= self.width <= 4096 and 8 <= self.height <= 4096)
                else '',
                f'fps {self.fps} is outside (0, 240]' if not 0.0 < self.fps <= 240.0 else '',
                f"fourcc {fourcc!r} must be 4 characters (e.g. MJPG, YUYV) or ''" if fourcc and len(fourcc) != 4 else '',
                f'source {self.source_name!r} needs the device parameter'
                if self.source_name in ('opencv', 'file') and not device
                else '',
                f'reconnect_period {self.reconnect_period} must be > 0' if not self.reconnect_period > 0 else '',
            ],
        )

        base = f'/cameras/{self.camera_name}'
        self.image_pub = self.create_publisher(Image, f'{base}/image_raw', 10)
        self.info_pub = self.create_publisher(CameraInfo, f'{base}/camera_info', 10)
        self.sim_source: SimFrameSource | None = None
        self.capture: CaptureLoop | None = None
        if self.source_name == 'sim':
            self.sim_source = SimFrameSource(self, self.camera_name, self.height, self.width)
            self.state = CaptureState()
            self.hardware_id = f'sim camera {self.camera_name}'
        else:
            source = SOURCES[self.source_name](SourceConfig(self.width, self.height, self.fps, device, fourcc, loop))
            log = self.get_logger()
            self.capture = CaptureLoop(source, self.fps, self.reconnect_period, self._publish, log.error, log.info)
            self.state = self.capture.state
            self.hardware_id = source.describe()
        self.frames = 0
        self._window_start, self._window_frames = time.monotonic(), 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        publish_status_every(self, 1.0, f'camera {self.camera_name}', self._status)

    def start(self) -> None:
        """Start capturing (from run_node, not the constructor: opening devices is I/O)."""
        if self.sim_source is not None:
            self.create_timer(1.0 / self.fps, self._sim_tick)
            return
        self._thread = threading.Thread(target=self.capture.run, args=(self._stop, self.context.ok), name='capture', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        if self.capture is not None:
            self.capture.source.close()

    def _sim_tick(self) -> None:
        rgb = self.sim_source.frame()
        if rgb is None:  # the world has not published its state yet
            self.state.last_error = 'waiting for the simulated world (/sim/joint_states, /sim/cube_pose)'
            return
        self.state.connected, self.state.last_error = True, ''
        self._publish(rgb)

    def _publish(self, rgb: np.ndarray) -> None:
        stamp = self.get_clock().now().to_msg()
        pixels = rgb if self.encoding == 'rgb8' else convert_channels(rgb, 'rgb8', self.encoding)
        self.image_pub.publish(array_to_image(pixels, self.encoding, stamp, self.frame_id))
        info = CameraInfo(width=self.width, height=self.height)
        info.header.stamp, info.header.frame_id = stamp, self.frame_id
        self.info_pub.publish(info)
        self.frames += 1
        self._window_frames += 1

    def _status(self) -> Status:
        now = time.monotonic()
        measured_fps = self._window_frames / max(now - self._window_start, 1e-9)
        self._window_start, self._window_frames = now, 0
        s = self.state
        if not s.connected:
            level = ERROR
            message = f'no frames: {s.last_error or "not started"}; reconnecting every {self.reconnect_period:g} s'
        elif measured_fps < 0.9 * self.fps:
            level, message = WARN, f'below {self.fps:g} fps'
        else:
            level, message = OK, 'streaming'
        values = {
            'measured_fps': f'{measured_fps:.1f}',
            'frames': self.frames,
            'dropped_frames': s.dropped,
            'reconnects': s.reconnects,
            'connected': str(s.connected).lower(),
        }
        return Status(level, message, values, hardware_id=self.hardware_id)


def main(args: list[str] | None = None) -> None:
    run_node(CameraNode, args=args)
