"""Feature statistics the way LeRobot computes them, so normalisation matches across both tools.

Why its own module: the writer needs per-episode stats at save time, the global ``meta/stats.json`` is
their aggregate, and the validator and the tests recompute both from the files. LeRobot's facts:

- numeric features: per dimension min, max, mean, std (population), count, and quantiles q01..q99
  estimated from a 5000-bin histogram spanning [min - 1e-10, max + 1e-10], interpolated inside the bin
  where the cumulative count reaches ``q * count``;
- images: per channel over a sample of the episode's frames (``sample_frame_indices``) downscaled by an
  integer stride when larger than 300 px, values divided by 255, each stat shaped (3, 1, 1) and
  ``count`` the number of sampled frames;
- global stats: count-weighted mean, pooled variance, min of mins, max of maxes; quantiles keep the
  envelope of the episodes' estimates (min for q <= 50, max above), as LeRobot >= 0.6 does.

Images are reduced to per-frame 256-bin channel histograms while recording (``image_histogram``), so an
episode's image stats need no stored frames and equal those computed from the pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f'q{int(round(q * 100)):02d}' for q in QUANTILES)
STAT_KEYS = ('min', 'max', 'mean', 'std', 'count', *QUANTILE_KEYS)
HISTOGRAM_BINS = 5000
EDGE_PAD = 1e-10

Stats = dict[str, np.ndarray]


def _histogram_quantiles(hist: np.ndarray, edges: np.ndarray, count: float) -> list[float]:
    """Quantiles of one dimension from its histogram, interpolating inside the crossing bin."""
    cumsum = np.cumsum(hist)
    out = []
    for q in QUANTILES:
        target = q * count
        idx = int(np.searchsorted(cumsum, target))
        if idx == 0:
            out.append(float(edges[0]))
        elif idx >= len(cumsum):
            out.append(float(edges[-1]))
        else:
            before = cumsum[idx - 1]
            inside = cumsum[idx] - before
            if inside == 0:
                out.append(float(edges[idx]))
            else:
                out.append(float(edges[idx] + (target - before) / inside * (edges[idx + 1] - edges[idx])))
    return out


def _weighted_stats(values: np.ndarray, weights: np.ndarray, count: int, work: type = np.float64) -> Stats:
    """Stats of dimension columns given ``values`` (V, D) with ``weights`` (V, D) occurrence counts.

    ``work`` is the dtype LeRobot computes in (float32 for float32 and uint8 data, float64 for int64):
    the histogram's 1e-10 padding is applied in it, which decides the bin of values on bin edges.
    """
    dims = values.shape[1]
    total = weights.sum(axis=0)
    mean = (values * weights).sum(axis=0) / total
    mean_sq = (values**2 * weights).sum(axis=0) / total
    present = weights > 0
    vmin = np.array([values[present[:, d], d].min() for d in range(dims)])
    vmax = np.array([values[present[:, d], d].max() for d in range(dims)])
    stats: Stats = {
        'min': vmin,
        'max': vmax,
        'mean': mean,
        'std': np.sqrt(np.maximum(0.0, mean_sq - mean**2)),
        'count': np.array([count], dtype=np.int64),
    }
    qs = np.empty((len(QUANTILES), dims))
    for d in range(dims):
        lo = work(vmin[d]) - work(EDGE_PAD)
        hi = work(vmax[d]) + work(EDGE_PAD)
        edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)  # float32 edges for float32 data, as LeRobot
        hist, _ = np.histogram(values[:, d], bins=edges, weights=weights[:, d])
        qs[:, d] = _histogram_quantiles(hist, edges, float(total[d]))
    for i, key in enumerate(QUANTILE_KEYS):
        stats[key] = qs[i]
    return stats


def numeric_stats(data: np.ndarray) -> Stats:
    """Stats of a numeric feature over an episode: ``data`` is (N,) or (N, D); results are (D,) / (1,)."""
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr[:, None]
    raw = arr.reshape(arr.shape[0], -1)
    arr = raw.astype(np.float64)
    if arr.shape[0] < 2:
        # LeRobot: too few samples for a histogram, quantiles fall back to the mean.
        stats: Stats = {
            'min': arr.min(axis=0),
            'max': arr.max(axis=0),
            'mean': arr.mean(axis=0),
            'std': arr.std(axis=0),
            'count': np.array([arr.shape[0]], dtype=np.int64),
        }
        for key in QUANTILE_KEYS:
            stats[key] = stats['mean'].copy()
        return stats
    work = np.result_type(raw.dtype, np.float32).type
    stats = _weighted_stats(arr, np.ones_like(arr), arr.shape[0], work)
    # LeRobot keeps min/max in the feature's dtype (int64 for index columns).
    stats['min'], stats['max'] = raw.min(axis=0), raw.max(axis=0)
    return stats


def sample_frame_indices(length: int) -> list[int]:
    """Which frames of an episode LeRobot samples for image stats (between 100 and 10000, ~N**0.75)."""
    wanted = min(100, length)
    num = max(wanted, min(int(length**0.75), 10_000))
    return np.round(np.linspace(0, length - 1, num)).astype(int).tolist()


def downsample_stride(height: int, width: int) -> int:
    """LeRobot's integer stride for image stats: 1 below 300 px, else about (longer side) / 150."""
    if max(height, width) < 300:
        return 1
    return int(width / 150) if width > height else int(height / 150)


def image_histogram(rgb: np.ndarray) -> np.ndarray:
    """Per-channel 256-bin histogram (C, 256) of an (H, W, C) uint8 frame, downsampled as LeRobot does."""
    step = downsample_stride(rgb.shape[0], rgb.shape[1])
    small = rgb[::step, ::step]
    channels = small.shape[2]
    flat = small.reshape(-1, channels)
    return np.stack([np.bincount(flat[:, c], minlength=256) for c in range(channels)]).astype(np.int64)


def image_stats_from_histograms(histograms: Sequence[np.ndarray]) -> Stats:
    """An episode's image stats from the per-frame histograms of every frame (LeRobot's sampling applied)."""
    picked = sample_frame_indices(len(histograms))
    total = np.sum([histograms[i] for i in picked], axis=0)  # (C, 256)
    values = np.repeat(np.arange(256, dtype=np.float64)[:, None], total.shape[0], axis=1)
    stats = _weighted_stats(values, total.T.astype(np.float64), len(picked), np.float32)
    return {k: v if k == 'count' else (v / 255.0).reshape(-1, 1, 1) for k, v in stats.items()}


def image_stats(frames: np.ndarray) -> Stats:
    """Image stats of an episode from its (N, H, W, C) uint8 frames (the reference for the histogram path)."""
    return image_stats_from_histograms([image_histogram(f) for f in frames])


def aggregate(stats_list: Sequence[Stats]) -> Stats:
    """Combine per-episode stats of one feature into dataset stats (see the module docstring)."""
    if not stats_list:
        raise ValueError('cannot aggregate the stats of zero episodes')
    means = np.stack([np.asarray(s['mean'], dtype=np.float64) for s in stats_list])
    variances = np.stack([np.asarray(s['std'], dtype=np.float64) ** 2 for s in stats_list])
    counts = np.stack([np.asarray(s['count'], dtype=np.float64).reshape(1) for s in stats_list])
    total = counts.sum(axis=0)
    weights = counts.reshape(counts.shape + (1,) * (means.ndim - counts.ndim))
    mean = (means * weights).sum(axis=0) / total.reshape(total.shape + (1,) * (means.ndim - 2))
    variance = ((variances + (means - mean) ** 2) * weights).sum(axis=0) / total.reshape(
        total.shape + (1,) * (means.ndim - 2)
    )
    out: Stats = {
        'min': np.min(np.stack([np.asarray(s['min']) for s in stats_list]), axis=0),
        'max': np.max(np.stack([np.asarray(s['max']) for s in stats_list]), axis=0),
        'mean': mean,
        'std': np.sqrt(variance),
        'count': total.astype(np.int64),
    }
    for key in QUANTILE_KEYS:
        if all(key in s for s in stats_list):
            stacked = np.stack([np.asarray(s[key], dtype=np.float64) for s in stats_list])
            out[key] = stacked.min(axis=0) if int(key[1:]) <= 50 else stacked.max(axis=0)
    return out


def aggregate_features(per_episode: Sequence[dict[str, Stats]]) -> dict[str, Stats]:
    """Aggregate a list of {feature: stats} (one per episode) feature by feature."""
    keys = list(dict.fromkeys(k for ep in per_episode for k in ep))
    return {k: aggregate([ep[k] for ep in per_episode if k in ep]) for k in keys}


def to_json(stats: dict[str, Stats]) -> dict[str, dict[str, list]]:
    """meta/stats.json form: nested lists."""
    return {f: {k: np.asarray(v).tolist() for k, v in s.items()} for f, s in stats.items()}


def from_json(obj: dict[str, dict[str, list]]) -> dict[str, Stats]:
    """Arrays back from meta/stats.json or an episode's ``stats/`` columns."""
    return {f: {k: np.asarray(v) for k, v in s.items()} for f, s in obj.items()}
