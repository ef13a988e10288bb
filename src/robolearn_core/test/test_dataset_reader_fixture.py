"""The reader loads a dataset LeRobot wrote (shared/fixtures/lerobot_so100_v3) and gets its README's values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.reader import DatasetReader

FIXTURE = Path(__file__).resolve().parents[3] / '..' / 'shared' / 'fixtures' / 'lerobot_so100_v3'
FIXTURE = FIXTURE.resolve()
EPISODES = [('pick the cube', 60), ('place the cube', 45), ('pick the cube', 75), ('push the cube', 30)]
TASK_INDEX = {'pick the cube': 0, 'place the cube': 1, 'push the cube': 2}
PIXEL_TOL = 6  # AV1 CRF 30 on flat areas: a few levels (fixture README)

pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason=f'fixture {FIXTURE} not present')


def expected_state(ep: int, f: int) -> np.ndarray:
    t = f / 30
    return np.array(
        [10 * math.sin(t + ep), -20 + 5 * t, 30 * math.cos(t), 5 * ep, -45 + f, 50 + 40 * math.sin(2 * t)],
        dtype=np.float32,
    )


def expected_front(ep: int, f: int) -> np.ndarray:
    img = np.zeros((96, 128, 3), dtype=np.float32)
    img[..., 1] = 60 * ep
    c = (2 * f) % 112
    img[8:24, c : c + 16, 0] = 255
    return img


def check_front(got_chw: np.ndarray, ep: int, f: int) -> None:
    got = got_chw.transpose(1, 2, 0) * 255.0
    exp = expected_front(ep, f)
    c = (2 * f) % 112
    # the square: its inside is red; its blurred edges (chroma is subsampled) are left out below
    inner = got[11:21, c + 3 : c + 13, 0]
    assert inner.min() > 255 - 3 * PIXEL_TOL, f'ep {ep} frame {f}: red square not at columns {c}..{c + 15}'
    # the middle row of the square: dark more than 4 px left and right of it
    row = got[15, :, 0].copy()
    row[max(c - 4, 0) : c + 20] = 0
    assert row.max() < 5 * PIXEL_TOL, f'ep {ep} frame {f}: red outside columns {c}..{c + 15}'
    # everywhere more than 8 px away from the square (AV1 blurs its edges inside 16x16 blocks)
    away = np.ones((96, 128), dtype=bool)
    away[:32, max(c - 8, 0) : c + 24] = False
    err = np.abs(got - exp)[away]
    assert err.max() < 3 * PIXEL_TOL, f'ep {ep} frame {f}: max error {err.max()} away from the square'
    assert err.mean() < 1.5


def test_metadata_and_every_value():
    r = DatasetReader(FIXTURE)
    assert r.fps == 30 and r.num_episodes == 4 and len(r) == 210
    assert r.camera_keys == ['observation.images.front', 'observation.images.wrist']
    assert r.stats['observation.state']['mean'].shape == (6,)
    assert r.stats['observation.images.front']['mean'].shape == (3, 1, 1)
    i = 0
    for ep, (_task, length) in enumerate(EPISODES):
        for f in range(length):
            frame_cols = {k: r.columns[k][i] for k in ('observation.state', 'action', 'frame_index', 'episode_index')}
            np.testing.assert_allclose(frame_cols['observation.state'], expected_state(ep, f), atol=1e-4)
            np.testing.assert_allclose(frame_cols['action'], expected_state(ep, f) + 1.5, atol=1e-4)
            assert frame_cols['frame_index'] == f and frame_cols['episode_index'] == ep
            i += 1


@pytest.mark.parametrize('cache', [False, True])
def test_frames_decode_to_the_readme_pixels(cache):
    r = DatasetReader(FIXTURE, cache_decoded=cache)
    starts = np.cumsum([0] + [n for _, n in EPISODES])
    for ep, (task, length) in enumerate(EPISODES):
        for f in sorted({0, 1, length // 2, length - 2, length - 1}):
            item = r[int(starts[ep] + f)]
            assert item['episode_index'] == ep and item['frame_index'] == f and item['index'] == starts[ep] + f
            assert item['task'] == task and item['task_index'] == TASK_INDEX[task]
            assert isinstance(item['timestamp'], float) and abs(item['timestamp'] - f / 30) < 1e-5
            front, wrist = item['observation.images.front'], item['observation.images.wrist']
            assert front.dtype == np.float32 and front.shape == (3, 96, 128)
            assert wrist.dtype == np.float32 and wrist.shape == (3, 72, 96)
            assert 0.0 <= front.min() and front.max() <= 1.0
            check_front(front, ep, f)
            np.testing.assert_allclose(wrist * 255.0, (4 * f) % 256, atol=PIXEL_TOL)
            np.testing.assert_allclose(item['observation.state'], expected_state(ep, f), atol=1e-4)


def test_windows_clamp_and_pad_like_lerobot():
    fps = 30
    r = DatasetReader(
        FIXTURE,
        episodes=[1, 3],
        delta_timestamps={
            'action': [k / fps for k in range(10)],
            'observation.state': [-1 / fps, 0.0],
            'observation.images.wrist': [-2 / fps, 0.0],
        },
    )
    assert len(r) == 45 + 30 and r.num_episodes == 2
    last = r[44]  # episode 1, frame 44 (its last)
    assert last['episode_index'] == 1 and last['frame_index'] == 44
    assert last['action'].shape == (10, 6)
    assert last['action_is_pad'].tolist() == [False] + [True] * 9
    for k in range(10):  # padded steps repeat the last frame
        np.testing.assert_allclose(last['action'][k], expected_state(1, 44) + 1.5, atol=1e-4)
    first = r[45]  # episode 3, frame 0
    assert first['episode_index'] == 3 and first['index'] == 180
    assert first['observation.state_is_pad'].tolist() == [True, False]
    np.testing.assert_allclose(first['observation.state'][0], expected_state(3, 0), atol=1e-4)
    assert first['observation.images.wrist'].shape == (2, 3, 72, 96)
    assert first['observation.images.wrist_is_pad'].tolist() == [True, False]
    mid = r[45 + 10]
    assert mid['observation.images.wrist_is_pad'].tolist() == [False, False]
    np.testing.assert_allclose(mid['observation.images.wrist'][0] * 255, 4 * 8, atol=PIXEL_TOL)
    np.testing.assert_allclose(mid['observation.images.wrist'][1] * 255, 4 * 10, atol=PIXEL_TOL)
    np.testing.assert_allclose(mid['action'][3], expected_state(3, 13) + 1.5, atol=1e-4)
    assert mid['action_is_pad'].sum() == 0


def test_bad_requests_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match='not multiples of 1/fps'):
        DatasetReader(FIXTURE, delta_timestamps={'action': [0.01]})
    with pytest.raises(DatasetError, match='episodes \\[7\\] do not exist'):
        DatasetReader(FIXTURE, episodes=[0, 7])
    with pytest.raises(DatasetError, match='no meta/info.json'):
        DatasetReader(tmp_path)
    with pytest.raises(IndexError):
        DatasetReader(FIXTURE)[210]


FORK_SCRIPT = """
import multiprocessing, sys
import numpy as np
from robolearn_core.dataset.reader import DatasetReader

def level(args):
    reader, index = args
    return float(reader[index]['observation.images.wrist'].mean() * 255)

def inherited(index):
    return float(READER[index]['observation.images.wrist'].mean() * 255)

for cache in (False, True):
    READER = DatasetReader(sys.argv[1], cache_decoded=cache)
    parent = level((READER, 20))  # opens the decoders (and fills the cache) in the parent
    with multiprocessing.get_context('fork').Pool(2) as pool:
        a = pool.map(inherited, [20, 21, 61, 200])  # forked: not pickled
        b = pool.map(level, [(READER, i) for i in (20, 21, 61, 200)])  # pickled, as spawned workers get it
    print(parent, *a, *b)
"""


DROPPED_READER_SCRIPT = """
import gc, multiprocessing, sys
from robolearn_core.dataset.reader import DatasetReader

gc.disable()  # what is garbage at the fork stays there, as it may in a busy process
reader = DatasetReader(sys.argv[1])
reader[20]  # opens a decoder
del reader  # dropped without close(), as code that is done with a dataset drops it
with multiprocessing.get_context('fork').Pool(1) as pool:
    print('collected in a forked child:', pool.apply(gc.collect))
"""


def _run_script(script: str):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        return subprocess.run([sys.executable, '-c', script, str(FIXTURE)], capture_output=True, text=True,
                              timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail('the script hung (a forked child waiting on FFmpeg threads it does not have?)')


def test_dropped_reader_leaves_nothing_a_forked_child_waits_on():
    """A reader dropped unclosed must close its files: a container left to the cycle collector keeps its
    decoder threads, and a forked worker (DataLoader) that collects it waits on them forever."""
    out = _run_script(DROPPED_READER_SCRIPT)
    assert out.returncode == 0, out.stderr
    assert 'collected in a forked child' in out.stdout


def test_reader_works_in_forked_workers():
    """DataLoader workers fork the reader after the parent decoded with it: each must reopen its own files.

    Run in a fresh interpreter, as a training script would be (not inside pytest's long-lived process).
    """
    out = _run_script(FORK_SCRIPT)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.strip().splitlines():
        values = [float(v) for v in line.split()]
        np.testing.assert_allclose(values, [80] + [80, 84, 4, (4 * 20) % 256] * 2, atol=PIXEL_TOL)
        assert abs(values[1] - values[0]) < 1e-6
