"""The one numpy <-> sensor_msgs/Image helper, against every encoding robolearn uses."""

import sys

import numpy as np
import pytest
from sensor_msgs.msg import Image

from robolearn_ros.image_conversion import (
    ENCODINGS,
    ImageEncodingError,
    array_to_image,
    convert_channels,
    image_to_array,
)


def _random(encoding: str, h: int = 5, w: int = 7) -> np.ndarray:
    dtype, channels = ENCODINGS[encoding]
    rng = np.random.default_rng(0)
    if dtype.kind == 'f':
        return rng.standard_normal((h, w, channels)).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, (h, w, channels), endpoint=True).astype(dtype)


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_round_trip_every_encoding(encoding):
    array = _random(encoding)
    msg = array_to_image(array, encoding, frame_id='cam')
    assert (msg.height, msg.width, msg.encoding, msg.header.frame_id) == (5, 7, encoding, 'cam')
    assert msg.step == 7 * array.shape[2] * array.dtype.itemsize
    back = image_to_array(msg)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_row_padding_is_skipped():
    array = _random('rgb8')
    msg = Image(height=5, width=7, encoding='rgb8', step=7 * 3 + 11)
    rows = np.zeros((5, msg.step), np.uint8)
    rows[:, : 7 * 3] = array.reshape(5, -1)
    rows[:, 7 * 3 :] = 99
    msg.data = rows.tobytes()
    np.testing.assert_array_equal(image_to_array(msg), array)


def test_big_endian_16_bit():
    array = _random('mono16')
    msg = Image(height=5, width=7, encoding='mono16', step=14, is_bigendian=sys.byteorder == 'little')
    msg.data = array.astype(array.dtype.newbyteorder()).tobytes()
    np.testing.assert_array_equal(image_to_array(msg), array)


@pytest.mark.parametrize(
    'src, dst, expected',
    [
        ('bgr8', 'rgb8', [3, 2, 1]),
        ('rgb8', 'bgr8', [3, 2, 1]),
        ('rgba8', 'rgb8', [1, 2, 3]),
        ('bgra8', 'rgb8', [3, 2, 1]),
        ('rgb8', 'rgba8', [1, 2, 3, 255]),
        ('mono8', 'rgb8', [1, 1, 1]),
    ],
)
def test_channel_conversion(src, dst, expected):
    channels = ENCODINGS[src][1]
    pixel = np.array([[[1, 2, 3, 4][:channels]]], np.uint8)
    msg = array_to_image(pixel, src)
    np.testing.assert_array_equal(image_to_array(msg, dst)[0, 0], expected)


def test_rgb_to_mono_uses_luma_weights():
    pixel = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert convert_channels(pixel, 'rgb8', 'mono8')[0, :, 0].tolist() == [76, 150, 29]


def test_errors_name_the_problem():
    with pytest.raises(ImageEncodingError, match="unsupported image encoding 'yuv422'"):
        image_to_array(Image(height=1, width=1, encoding='yuv422', step=2, data=b'\0\0'))
    with pytest.raises(ImageEncodingError, match='expected step\\*height'):
        image_to_array(Image(height=2, width=2, encoding='rgb8', step=6, data=bytes(11)))
    with pytest.raises(ImageEncodingError, match='smaller than a 2-pixel rgb8 row'):
        image_to_array(Image(height=2, width=2, encoding='rgb8', step=5, data=bytes(10)))
    with pytest.raises(ImageEncodingError, match=r'rgb8 needs shape \(h, w, 3\)'):
        array_to_image(np.zeros((2, 2, 4), np.uint8), 'rgb8')
    with pytest.raises(ImageEncodingError, match='rgb8 needs dtype uint8'):
        array_to_image(np.zeros((2, 2, 3), np.float32), 'rgb8')
    with pytest.raises(ImageEncodingError, match='cannot convert 16UC1 to rgb8'):
        image_to_array(array_to_image(np.zeros((2, 2), np.uint16), '16UC1'), 'rgb8')
