#!/usr/bin/env python3
"""Test-only node: subscribes to an Image topic and saves each frame, as received, to <out_dir>/NNNN.npy.

Why a separate process: the harness test proves images cross a real DDS link between two node
processes through the image helper, not within one process.
"""

from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import Image

from robolearn_ros.image_conversion import image_to_array


class ImageSink(Node):
    def __init__(self) -> None:
        super().__init__('image_sink')
        self.out_dir = Path(self.declare_parameter('out_dir', '.').value)
        self.max_frames = self.declare_parameter('max_frames', 10).value
        self.desired_encoding = self.declare_parameter('desired_encoding', '').value or None
        self.count = 0
        self.create_subscription(Image, 'image', self.on_image, 10)

    def on_image(self, msg: Image) -> None:
        if self.count >= self.max_frames:
            return
        pixels = image_to_array(msg, self.desired_encoding)
        np.save(self.out_dir / f'{self.count:04d}.npy', pixels)
        (self.out_dir / f'{self.count:04d}.encoding').write_text(msg.encoding)
        self.count += 1
        self.get_logger().info(f'saved frame {self.count}')


def main() -> None:
    # Jazzy's rclpy.init() is not a context manager (Kilted's is): shut down explicitly.
    rclpy.init()
    try:
        rclpy.spin(ImageSink())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
