import numpy as np
import pytest

from robolearn_core.test_pattern import INDEX_BLOCK, frame_index_of, test_pattern


def test_pattern_is_deterministic_and_carries_its_index():
    a, b = test_pattern(17, 48, 64), test_pattern(17, 48, 64)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    assert frame_index_of(a) == 17
    assert not np.array_equal(test_pattern(18, 48, 64), a)


def test_pattern_rejects_tiny_frames():
    with pytest.raises(ValueError, match=f'at least {INDEX_BLOCK}x{INDEX_BLOCK}'):
        test_pattern(0, 4, 64)
