"""camera_node: publishes sensor_msgs/Image and CameraInfo for one camera.

Sources: ``pattern`` (a deterministic test pattern, for checking a pipeline end to end without a
camera) and ``sim`` (renders the simulated world's camera ``camera_name``: robolearn_camera.sim_source).
The recording issue adds OpenCV capture and video files.
"""

from __future__ import annotations

import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from robolearn_camera.image_conversion import ENCODINGS, array_to_image, convert_channels
from robolearn_camera.sim_source import SimFrameSource
from robolearn_core.test_pattern import test_pattern

SOURCES = ('pattern', 'sim')


class CameraNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('camera_node', **kwargs)
        ro = dict(read_only=True)
        self.camera_name = self.declare_parameter(
            'camera_name', 'front', ParameterDescriptor(description='topics go to /cameras/<camera_name>/', **ro)
        ).value
        self.source = self.declare_parameter(
            'source', 'pattern', ParameterDescriptor(description=f'one of {", ".join(SOURCES)}', **ro)
        ).value
        self.width = self.declare_parameter('width', 128, ParameterDescriptor(description='pixels', **ro)).value
        self.height = self.declare_parameter('height', 96, ParameterDescriptor(description='pixels', **ro)).value
        self.fps = self.declare_parameter('fps', 30.0, ParameterDescriptor(description='frames per second', **ro)).value
        self.encoding = self.declare_parameter(
            'encoding', 'rgb8', ParameterDescriptor(description='rgb8 (LeRobot convention), bgr8 or mono8', **ro)
        ).value
        self.frame_id = self.declare_parameter(
            'frame_id', '', ParameterDescriptor(description="header.frame_id; '' means <camera_name>_camera", **ro)
        ).value or f'{self.camera_name}_camera'
        self._validate()

        base = f'/cameras/{self.camera_name}'
        self.image_pub = self.create_publisher(Image, f'{base}/image_raw', 10)
        self.info_pub = self.create_publisher(CameraInfo, f'{base}/camera_info', 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.sim_source = SimFrameSource(self, self.camera_name, self.height, self.width) if self.source == 'sim' else None
        self.frames = 0
        self._window_start = time.monotonic()
        self._window_frames = 0
        self.measured_fps = 0.0
        self.create_timer(1.0 / self.fps, self._tick)
        self.create_timer(1.0, self._publish_diagnostics)

    def _validate(self) -> None:
        problems = []
        if self.source not in SOURCES:
            problems.append(f"source {self.source!r} is not one of {', '.join(SOURCES)}")
        if self.encoding not in ('rgb8', 'bgr8', 'mono8'):
            problems.append(f'encoding {self.encoding!r} is not one of rgb8, bgr8, mono8')
        if not (8 <= self.width <= 4096 and 8 <= self.height <= 4096):
            problems.append(f'width x height {self.width}x{self.height} is outside 8..4096')
        if not 0.0 < self.fps <= 240.0:
            problems.append(f'fps {self.fps} is outside (0, 240]')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))
        assert self.encoding in ENCODINGS

    def _tick(self) -> None:
        if self.sim_source is not None:
            rgb = self.sim_source.frame()
            if rgb is None:  # the world has not published its state yet
                return
        else:
            rgb = test_pattern(self.frames, self.height, self.width)
        stamp = self.get_clock().now().to_msg()
        pixels = rgb if self.encoding == 'rgb8' else convert_channels(rgb, 'rgb8', self.encoding)
        self.image_pub.publish(array_to_image(pixels, self.encoding, stamp, self.frame_id))
        info = CameraInfo(width=self.width, height=self.height)
        info.header.stamp, info.header.frame_id = stamp, self.frame_id
        self.info_pub.publish(info)
        self.frames += 1
        self._window_frames += 1

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        self.measured_fps = self._window_frames / max(now - self._window_start, 1e-9)
        self._window_start, self._window_frames = now, 0
        level = DiagnosticStatus.OK if self.measured_fps >= 0.9 * self.fps else DiagnosticStatus.WARN
        status = DiagnosticStatus(
            level=level,
            name=f'{self.get_name()}: camera {self.camera_name}',
            hardware_id=self.source,
            message='streaming' if level == DiagnosticStatus.OK else f'below {self.fps:g} fps',
            values=[
                KeyValue(key='measured_fps', value=f'{self.measured_fps:.1f}'),
                KeyValue(key='frames', value=str(self.frames)),
            ],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    # Jazzy's rclpy.init() is not a context manager (Kilted's is): shut down explicitly.
    rclpy.init(args=args)
    try:
        rclpy.spin(CameraNode())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()
