#!/usr/bin/env python3
"""Reader throughput for ACT-style training windows: windows per second with and without the decoded cache.

A window is what ACT samples per item: the current observation (state + every camera frame) and a chunk of
``--chunk`` future actions with its ``_is_pad`` mask. Without ``--dataset`` a synthetic dataset is recorded
first with the writer (test-pattern video, AV1 by default), so the numbers are for files robolearn wrote.
Items are drawn in a random order, as a shuffling DataLoader does. The last output line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robolearn_camera.color_bars import color_bars
from robolearn_core.dataset import layout
from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.writer import DatasetWriter


def make_dataset(root: Path, episodes: int, frames: int, cameras: int, width: int, height: int, codec: str) -> None:
    names = [f'joint{i}.pos' for i in range(6)]
    features = {'observation.state': layout.vector_feature(names), 'action': layout.vector_feature(names)}
    for c in range(cameras):
        features[f'observation.images.cam{c}'] = layout.video_feature(height, width, 30, codec)
    w = DatasetWriter(root, 30, features, 'bench', video_codec=codec)
    patterns = [color_bars(i, height, width) for i in range(64)]
    for ep in tqdm(range(episodes), desc='recording the synthetic dataset', file=sys.stderr):
        w.start_episode('bench')
        for f in range(frames):
            v = np.full(6, ep * 1000 + f, dtype=np.float32)
            frame = {'observation.state': v, 'action': v + 1}
            for c in range(cameras):
                frame[f'observation.images.cam{c}'] = patterns[(f + 13 * c) % 64]
            w.add_frame(frame)
        w.save_episode()


def measure(reader: DatasetReader, order: np.ndarray, label: str) -> float:
    t0 = time.perf_counter()
    for i in tqdm(order, desc=label, file=sys.stderr):
        item = reader[int(i)]
        assert item['action'].shape[0] == len(reader.delta_indices['action'])
    return len(order) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset', help='existing dataset root; default: record a synthetic one in a temp dir')
    parser.add_argument('--episodes', type=int, default=4, help='synthetic dataset: episodes (default 4)')
    parser.add_argument('--frames', type=int, default=300, help='synthetic dataset: frames per episode (default 300)')
    parser.add_argument('--cameras', type=int, default=2, help='synthetic dataset: cameras (default 2)')
    parser.add_argument('--width', type=int, default=640, help='synthetic dataset: image width (default 640)')
    parser.add_argument('--height', type=int, default=480, help='synthetic dataset: image height (default 480)')
    parser.add_argument('--codec', choices=['av1', 'h264'], default='av1', help='synthetic dataset codec (default av1)')
    parser.add_argument('--chunk', type=int, default=100, help='action chunk length in frames (default 100, ACT)')
    parser.add_argument('--windows', type=int, default=300, help='random windows timed per mode (default 300)')
    parser.add_argument('--seed', type=int, default=0, help='random order seed (default 0)')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dataset) if args.dataset else Path(tmp) / 'bench'
        if not args.dataset:
            make_dataset(root, args.episodes, args.frames, args.cameras, args.width, args.height, args.codec)
        probe = DatasetReader(root)
        fps = probe.fps
        delta = {'action': [k / fps for k in range(args.chunk)]}
        rng = np.random.default_rng(args.seed)
        n = len(probe)
        order = rng.permutation(n)[: min(args.windows, n)]

        plain = DatasetReader(root, delta_timestamps=delta)
        uncached = measure(plain, order, 'no cache')
        cached = DatasetReader(root, delta_timestamps=delta, cache_decoded=True)
        t0 = time.perf_counter()
        for pos in range(cached.num_episodes):  # one decode pass per camera and episode
            start, _ = cached.episode_range(pos)
            for key in cached.camera_keys:
                cached.episode_frames_uint8(key, pos, np.array([0]))
        warm_s = time.perf_counter() - t0
        warm = measure(cached, order, 'cache (warm)')
        result = {
            'windows_per_s_no_cache': round(uncached, 1),
            'windows_per_s_cache_warm': round(warm, 1),
            'cache_fill_s': round(warm_s, 2),
            'cache_bytes': cached.cache.bytes,
            'frames': n,
            'cameras': len(probe.camera_keys),
            'resolution': [probe.features[probe.camera_keys[0]]['shape'][1], probe.features[probe.camera_keys[0]]['shape'][0]]
            if probe.camera_keys else None,
            'chunk': args.chunk,
            'windows': len(order),
            'codec': probe.features[probe.camera_keys[0]]['info']['video.codec'] if probe.camera_keys else None,
        }
    print(json.dumps(result))


if __name__ == '__main__':
    main()
