"""Colour bars: the deterministic frames of camera_node's ``pattern`` source.

Why: a pipeline check needs frames whose every pixel is known at the receiver, so a test (or a person
with rviz) can tell a corrupted, reordered or mis-encoded image from a good one without a camera.
"""

from __future__ import annotations

import numpy as np

#: Side of the square in the top-left corner whose value is the frame index modulo 256.
INDEX_BLOCK = 8

_BARS = np.array(
    [
        [255, 255, 255],
        [255, 255, 0],
        [0, 255, 255],
        [0, 255, 0],
        [255, 0, 255],
        [255, 0, 0],
        [0, 0, 255],
        [0, 0, 0],
    ],
    dtype=np.uint8,
)


def color_bars(frame_index: int, height: int, width: int) -> np.ndarray:
    """Return an RGB (height, width, 3) uint8 frame: colour bars, a gradient row band and a moving stripe.

    The top-left INDEX_BLOCK square holds ``frame_index % 256`` in all channels, so a receiver can find
    which frame it got and regenerate it for an exact comparison (see ``frame_index_of``).
    """
    if height < INDEX_BLOCK or width < INDEX_BLOCK:
        raise ValueError(f'test pattern needs at least {INDEX_BLOCK}x{INDEX_BLOCK} pixels, got {height}x{width}')
    cols = np.arange(width)
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = _BARS[(cols * len(_BARS)) // width][None, :, :]
    band = slice(height * 2 // 3, height)
    frame[band] = ((cols * 255) // max(width - 1, 1)).astype(np.uint8)[None, :, None]
    stripe = (frame_index * 4) % width
    frame[:, stripe : stripe + 2] = (37 * frame_index) % 256
    frame[:INDEX_BLOCK, :INDEX_BLOCK] = frame_index % 256
    return frame


def frame_index_of(rgb: np.ndarray) -> int:
    """Frame index modulo 256 of a test-pattern frame (read from its top-left block)."""
    return int(rgb[0, 0, 0])
