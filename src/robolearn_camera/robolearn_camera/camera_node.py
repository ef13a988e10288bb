"""camera_node: publishes sensor_msgs/Image and CameraInfo for one camera.

Sources (``source`` parameter, classes in frame_sources.py): ``pattern`` (a deterministic test pattern),
``opencv`` (a camera by index or path, with width/height/fps/fourcc), ``file`` (plays a video file), and
``sim`` (renders the simulated world's camera ``camera_name``: robolearn_camera.sim_source).
A capture thread reads frames, stamps each at capture time and publishes it; when the source fails it is
closed and reopened every ``reconnect_period`` seconds. ``sim`` renders on a timer of the node instead
(its EGL context and the world-state subscriptions stay on the executor thread). Measured fps, dropped
frames and the connection state go to /diagnostics once a second.
"""

from __future__ import annotations

import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from robolearn_camera.frame_sources import SOURCES, SourceConfig, SourceError
from robolearn_camera.image_conversion import ENCODINGS, array_to_image, convert_channels
from robolearn_camera.sim_source import SimFrameSource
from robolearn_core.interrupt_once import raise_on_first_sigint

#: every value of the source parameter
SOURCE_NAMES = (*SOURCES, 'sim')


class CameraNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('camera_node', **kwargs)
        ro = dict(read_only=True)

        def param(name, default, description):
            return self.declare_parameter(name, default, ParameterDescriptor(description=description, **ro)).value

        self.camera_name = param('camera_name', 'front', 'topics go to /cameras/<camera_name>/')
        self.source_name = param('source', 'pattern', f'one of {", ".join(SOURCE_NAMES)}')
        self.width = param('width', 128, 'pixels (frames of another size are resized to it)')
        self.height = param('height', 96, 'pixels')
        self.fps = param('fps', 30.0, 'frames per second (asked of the camera; the pace of pattern and file)')
        self.encoding = param('encoding', 'rgb8', 'rgb8 (LeRobot convention), bgr8 or mono8')
        self.frame_id = param('frame_id', '', "header.frame_id; '' means <camera_name>_camera") or f'{self.camera_name}_camera'
        self.device = param('device', '', "opencv: index ('0') or path (/dev/video0); file: the video file")
        self.fourcc = param('fourcc', 'MJPG', "opencv: pixel format asked of the camera (MJPG lets USB cameras "
                            "reach 30 fps at 640x480); '' keeps the driver's")
        self.loop = param('loop', True, 'file: start again at the end of the video')
        self.reconnect_period = param('reconnect_period', 1.0, 'seconds between attempts to reopen a failed source')
        self._validate()

        base = f'/cameras/{self.camera_name}'
        self.image_pub = self.create_publisher(Image, f'{base}/image_raw', 10)
        self.info_pub = self.create_publisher(CameraInfo, f'{base}/camera_info', 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.sim_source = None
        if self.source_name == 'sim':
            self.sim_source = SimFrameSource(self, self.camera_name, self.height, self.width)
            self.source = SOURCES['pattern'](SourceConfig(self.width, self.height, self.fps))  # unused placeholder
        else:
            self.source = SOURCES[self.source_name](SourceConfig(
                self.width, self.height, self.fps, self.device, self.fourcc, self.loop))
        self.frames = 0
        self.dropped = 0
        self.reconnects = 0
        self.connected = False
        self.last_error = ''
        self._window_start = time.monotonic()
        self._window_frames = 0
        self.measured_fps = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.create_timer(1.0, self._publish_diagnostics)

    def _validate(self) -> None:
        problems = []
        if self.source_name not in SOURCE_NAMES:
            problems.append(f"source {self.source_name!r} is not one of {', '.join(SOURCE_NAMES)}")
        if self.encoding not in ('rgb8', 'bgr8', 'mono8'):
            problems.append(f'encoding {self.encoding!r} is not one of rgb8, bgr8, mono8')
        if not (8 <= self.width <= 4096 and 8 <= self.height <= 4096):
            problems.append(f'width x height {self.width}x{self.height} is outside 8..4096')
        if not 0.0 < self.fps <= 240.0:
            problems.append(f'fps {self.fps} is outside (0, 240]')
        if self.fourcc and len(self.fourcc) != 4:
            problems.append(f"fourcc {self.fourcc!r} must be 4 characters (e.g. MJPG, YUYV) or ''")
        if self.source_name in ('opencv', 'file') and not self.device:
            problems.append(f"source {self.source_name!r} needs the device parameter")
        if not self.reconnect_period > 0:
            problems.append(f'reconnect_period {self.reconnect_period} must be > 0')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))
        assert self.encoding in ENCODINGS

    # -- capture -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start capturing (called from main, not the constructor: opening devices is I/O)."""
        if self.sim_source is not None:
            self.create_timer(1.0 / self.fps, self._sim_tick)
            return
        self._thread = threading.Thread(target=self._capture_loop, name='capture', daemon=True)
        self._thread.start()

    def _sim_tick(self) -> None:
        rgb = self.sim_source.frame()
        if rgb is None:  # the world has not published its state yet
            self.last_error = 'waiting for the simulated world (/sim/joint_states, /sim/cube_pose)'
            return
        self.connected, self.last_error = True, ''
        self._publish(rgb)

    def _open(self) -> bool:
        try:
            self.source.open()
        except SourceError as exc:
            if str(exc) != self.last_error:
                self.get_logger().error(f'{exc}; retrying every {self.reconnect_period:g} s')
            self.last_error = str(exc)
            return False
        if self.frames or self.last_error:
            self.reconnects += 1
        self.connected, self.last_error = True, ''
        self.get_logger().info(f'streaming from {self.source.describe()}')
        return True

    def _capture_loop(self) -> None:
        period = 1.0 / self.fps
        next_t = time.monotonic()
        last_t: float | None = None
        while not self._stop.is_set():
            if not self.connected:
                if not self._open():
                    self._stop.wait(self.reconnect_period)
                    continue
                next_t, last_t = time.monotonic(), None
            if self.source.paced_by_node:
                now = time.monotonic()
                if next_t > now:
                    self._stop.wait(next_t - now)
                elif now - next_t > period:  # fell behind (a stall): skip the frames we missed
                    missed = int((now - next_t) / period)
                    self.dropped += missed
                    next_t += missed * period
                next_t += period
            try:
                rgb = self.source.read()
            except SourceError as exc:
                self.get_logger().error(f'{exc}; reconnecting')
                self.last_error = str(exc)
                self.connected = False
                self.source.close()
                self._stop.wait(self.reconnect_period)
                continue
            t = time.monotonic()
            if not self.source.paced_by_node and last_t is not None and t - last_t > 1.5 * period:
                self.dropped += int(round((t - last_t) / period)) - 1
            last_t = t
            try:
                self._publish(rgb)
            except Exception:  # noqa: BLE001 - at Ctrl-C rclpy invalidates the context under this thread
                if not self.context.ok():
                    break
                raise

    def _publish(self, rgb) -> None:
        stamp = self.get_clock().now().to_msg()
        pixels = rgb if self.encoding == 'rgb8' else convert_channels(rgb, 'rgb8', self.encoding)
        self.image_pub.publish(array_to_image(pixels, self.encoding, stamp, self.frame_id))
        info = CameraInfo(width=self.width, height=self.height)
        info.header.stamp, info.header.frame_id = stamp, self.frame_id
        self.info_pub.publish(info)
        self.frames += 1
        self._window_frames += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        self.source.close()

    # -- diagnostics -------------------------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        self.measured_fps = self._window_frames / max(now - self._window_start, 1e-9)
        self._window_start, self._window_frames = now, 0
        if not self.connected:
            level = DiagnosticStatus.ERROR
            message = f'no frames: {self.last_error or "not started"}; reconnecting every {self.reconnect_period:g} s'
        elif self.measured_fps < 0.9 * self.fps:
            level, message = DiagnosticStatus.WARN, f'below {self.fps:g} fps'
        else:
            level, message = DiagnosticStatus.OK, 'streaming'
        status = DiagnosticStatus(
            level=level,
            name=f'{self.get_name()}: camera {self.camera_name}',
            hardware_id=f'sim camera {self.camera_name}' if self.sim_source is not None else self.source.describe(),
            message=message,
            values=[
                KeyValue(key='measured_fps', value=f'{self.measured_fps:.1f}'),
                KeyValue(key='frames', value=str(self.frames)),
                KeyValue(key='dropped_frames', value=str(self.dropped)),
                KeyValue(key='reconnects', value=str(self.reconnects)),
                KeyValue(key='connected', value=str(self.connected).lower()),
            ],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    # Jazzy's rclpy.init() is not a context manager (Kilted's is): shut down explicitly.
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)
    node = None
    try:
        node = CameraNode()
        node.start()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.stop()
        rclpy.try_shutdown()
