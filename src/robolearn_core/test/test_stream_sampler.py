"""The recorder's sampling rule: newest value of every stream, or the names of the stale ones."""

import pytest

from robolearn_core.recording.stream_sampler import StreamSampler, describe_stale


def test_newest_value_within_max_age():
    s = StreamSampler(['follower', 'camera front'], max_age=0.1)
    first = s.sample(0.0)
    assert not first.complete and first.stale == {'follower': None, 'camera front': None}
    s.put('follower', 1.00, 'a')
    s.put('follower', 1.05, 'b')
    s.put('camera front', 1.02, 'img')
    got = s.sample(1.10)
    assert got.complete and got.values == {'follower': 'b', 'camera front': 'img'}
    late = s.sample(1.15)  # the camera's newest is 0.13 s old
    assert not late.complete and late.values == {'follower': 'b'}
    assert late.stale == {'camera front': pytest.approx(0.13)}
    assert describe_stale(late.stale) == 'camera front: 0.13 s old'
    assert describe_stale(first.stale) == 'follower: no message yet; camera front: no message yet'


def test_bad_max_age():
    with pytest.raises(ValueError, match='max_age must be > 0'):
        StreamSampler(['a'], 0)
