"""numpy <-> sensor_msgs/Image, the one place images are converted.

Why here and not cv_bridge: PyPI's ``cv-bridge`` is a broken ROS 1 copy and the ROS 2 one is not
installable from the registries the pip environment uses. The conversion is a reshape of the byte buffer,
plus the channel reordering that LeRobot's RGB convention needs.
"""

from __future__ import annotations

import sys

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image

#: encoding -> (numpy dtype, channels). The set every robolearn node and test uses.
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
    'mono8': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
}

# Channel order of each colour encoding, to reorder between them.
_ORDER = {'rgb8': 'rgb', 'bgr8': 'bgr', 'rgba8': 'rgba', 'bgra8': 'bgra', 'mono8': 'l'}


class ImageEncodingError(ValueError):
    """An Image message that cannot be converted; the message says what is wrong with it."""


def _layout(encoding: str) -> tuple[np.dtype, int]:
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise ImageEncodingError(
            f'unsupported image encoding {encoding!r}; supported: {", ".join(ENCODINGS)}'
        ) from None


def image_to_array(msg: Image, desired_encoding: str | None = None) -> np.ndarray:
    """View a sensor_msgs/Image as an array of shape (height, width, channels).

    Row padding (``step`` larger than a row) and big-endian data are handled. With ``desired_encoding``
    (e.g. ``'rgb8'`` for a policy or the recorder) colour channels are reordered or converted; the result
    is then a new array, otherwise it is a read-only view of the message's buffer.
    """
    dtype, channels = _layout(msg.encoding)
    if msg.is_bigendian != (sys.byteorder == 'big') and dtype.itemsize > 1:
        dtype = dtype.newbyteorder()
    row_bytes = msg.width * channels * dtype.itemsize
    if msg.step < row_bytes:
        raise ImageEncodingError(
            f'image step {msg.step} is smaller than a {msg.width}-pixel {msg.encoding} row ({row_bytes} bytes)'
        )
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if buf.size != msg.step * msg.height:
        raise ImageEncodingError(
            f'image data has {buf.size} bytes, expected step*height = {msg.step}*{msg.height} = {msg.step * msg.height}'
        )
    rows = buf.reshape(msg.height, msg.step)[:, :row_bytes]
    array = np.ascontiguousarray(rows).view(dtype) if msg.step != row_bytes else rows.view(dtype)
    array = array.reshape(msg.height, msg.width, channels)
    if dtype.byteorder not in ('=', '|'):
        array = array.astype(dtype.newbyteorder('='))
    if desired_encoding is None or desired_encoding == msg.encoding:
        return array
    return convert_channels(array, msg.encoding, desired_encoding)


def convert_channels(array: np.ndarray, encoding: str, desired_encoding: str) -> np.ndarray:
    """Reorder or expand 8-bit colour channels between rgb8, bgr8, rgba8, bgra8 and mono8."""
    if encoding not in _ORDER or desired_encoding not in _ORDER:
        raise ImageEncodingError(
            f'cannot convert {encoding} to {desired_encoding}; colour conversion covers {", ".join(_ORDER)}'
        )
    src, dst = _ORDER[encoding], _ORDER[desired_encoding]
    if src == 'l':
        gray = array[..., 0]
        return np.stack([gray] * len(dst), axis=-1) if dst != 'l' else array.copy()
    if dst == 'l':
        rgb = array[..., [src.index(c) for c in 'rgb']].astype(np.float32)
        return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)[..., None]
    out = np.empty(array.shape[:2] + (len(dst),), dtype=np.uint8)
    for i, c in enumerate(dst):
        out[..., i] = array[..., src.index(c)] if c in src else 255
    return out


def array_to_image(
    array: np.ndarray, encoding: str = 'rgb8', stamp: Time | None = None, frame_id: str = ''
) -> Image:
    """Build a sensor_msgs/Image from an (height, width[, channels]) array in the given encoding."""
    dtype, channels = _layout(encoding)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] != channels:
        raise ImageEncodingError(f'{encoding} needs shape (h, w, {channels}), got {array.shape}')
    if array.dtype != dtype:
        raise ImageEncodingError(f'{encoding} needs dtype {dtype}, got {array.dtype}')
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = sys.byteorder == 'big'
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg
