"""Stats computed by robolearn equal the ones LeRobot stored in the fixture (per episode and aggregated)."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn_core.dataset import stats as st
from robolearn_core.dataset.reader import DatasetReader

from .test_dataset_reader_fixture import FIXTURE

NUMERIC = ('observation.state', 'action', 'timestamp', 'frame_index', 'episode_index', 'index', 'task_index')


@pytest.mark.skipif(not FIXTURE.is_dir(), reason='fixture missing')
def test_episode_stats_match_lerobot_numbers():
    r = DatasetReader(FIXTURE)
    stored = r.episode_stats()
    for pos in range(r.num_episodes):
        start, end = r.episode_range(pos)
        for key in NUMERIC:
            column = r.columns[key][start:end]
            if key == 'timestamp':  # LeRobot takes stats of the float64 frame_index / fps, before the float32 cast
                column = r.columns['frame_index'][start:end] / r.fps
            mine = st.numeric_stats(column)
            theirs = stored[pos][key]
            assert set(theirs) == set(st.STAT_KEYS)
            for stat in st.STAT_KEYS:
                span = float(np.max(theirs['max']) - np.min(theirs['min'])) or 1.0
                np.testing.assert_allclose(
                    np.asarray(mine[stat], dtype=float).ravel(), np.asarray(theirs[stat], dtype=float).ravel(),
                    atol=1e-5 * span + 1e-6, err_msg=f'episode {pos} {key} {stat}',
                )
            assert mine['min'].dtype.kind == theirs['min'].dtype.kind, key  # int64 columns keep int64 min/max


@pytest.mark.skipif(not FIXTURE.is_dir(), reason='fixture missing')
def test_aggregate_reproduces_global_mean_std_min_max():
    r = DatasetReader(FIXTURE)
    agg = st.aggregate_features(r.episode_stats())
    for key in NUMERIC:
        for stat in ('min', 'max', 'mean', 'std', 'count'):
            np.testing.assert_allclose(agg[key][stat], r.stats[key][stat], rtol=1e-7, atol=1e-9, err_msg=f'{key} {stat}')
    # quantiles: LeRobot >= 0.6 keeps the envelope of episode estimates (the fixture, 0.4.4, averaged them)
    eps = r.episode_stats()
    q01 = np.min([e['action']['q01'] for e in eps], axis=0)
    np.testing.assert_allclose(agg['action']['q01'], q01)
    q99 = np.max([e['action']['q99'] for e in eps], axis=0)
    np.testing.assert_allclose(agg['action']['q99'], q99)
    # images keep their (3, 1, 1) shape through aggregation
    assert agg['observation.images.front']['mean'].shape == (3, 1, 1)


def test_image_stats_from_histograms_equal_direct_pixels():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(130, 40, 50, 3), dtype=np.uint8)
    frames[:, :, :, 2] //= 4  # channels with different ranges
    got = st.image_stats(frames)
    picked = st.sample_frame_indices(130)
    assert len(picked) == 100 and picked[0] == 0 and picked[-1] == 129
    pix = frames[picked].reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(got['mean'].ravel(), pix.mean(axis=0) / 255, rtol=1e-12)
    np.testing.assert_allclose(got['std'].ravel(), pix.std(axis=0) / 255, rtol=1e-9)
    np.testing.assert_allclose(got['max'].ravel(), pix.max(axis=0) / 255)
    np.testing.assert_allclose(got['q50'].ravel(), np.median(pix, axis=0) / 255, atol=2 / 255)
    assert got['mean'].shape == (3, 1, 1) and got['count'].tolist() == [100]


def test_large_images_are_strided_like_lerobot():
    assert st.downsample_stride(480, 640) == 4 and st.downsample_stride(96, 128) == 1
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    frame[1::4] = 255  # rows the stride skips
    assert st.image_histogram(frame)[0, 0] == 120 * 160


def test_numeric_quantiles_follow_the_histogram_rule():
    data = np.arange(1000, dtype=np.float32)
    s = st.numeric_stats(data)
    assert s['min'].tolist() == [0.0] and s['max'].tolist() == [999.0] and s['count'].tolist() == [1000]
    # the 500th and 10th samples (499, 9) plus at most one bin width (999 / 5000)
    assert 499.0 <= s['q50'][0] <= 499.0 + 999 / 5000 + 1e-3
    assert 9.0 <= s['q01'][0] <= 9.0 + 999 / 5000 + 1e-3
    np.testing.assert_allclose(s['std'], [data.astype(np.float64).std()], rtol=1e-9)
    one = st.numeric_stats(np.array([[1.0, 2.0]]))
    assert one['q99'].tolist() == [1.0, 2.0]
