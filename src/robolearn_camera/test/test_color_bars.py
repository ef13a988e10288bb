import numpy as np
import pytest

from robolearn_camera.color_bars import INDEX_BLOCK, color_bars, frame_index_of


def test_pattern_is_deterministic_and_carries_its_index():
    a, b = color_bars(17, 48, 64), color_bars(17, 48, 64)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    assert frame_index_of(a) == 17
    assert not np.array_equal(color_bars(18, 48, 64), a)


def test_pattern_rejects_tiny_frames():
    with pytest.raises(ValueError, match=f'at least {INDEX_BLOCK}x{INDEX_BLOCK}'):
        color_bars(0, 4, 64)
