#!/usr/bin/env python3
"""Cost of appending an episode to a shared mp4 (stream copy), the part of save_episode that grows.

LeRobot v3.0 keeps many episodes in one mp4 until ``video_files_size_in_mb``; appending rewrites the file
(moov at the front), so save time grows with the current file's size. This encodes one synthetic episode
(test pattern with noise, ``--seconds`` at 30 fps), then doubles a file by appending it to itself and times
each append. The last output line is one JSON object: {"append_s_by_file_mb": {...}, ...}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from robolearn_camera.color_bars import color_bars
from robolearn_core.dataset.video_encode import EpisodeVideoEncoder, append_videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=60.0, help='episode length (default 60)')
    parser.add_argument('--width', type=int, default=640, help='width (default 640)')
    parser.add_argument('--height', type=int, default=480, help='height (default 480)')
    parser.add_argument('--codec', choices=['av1', 'h264'], default='av1', help='codec (default av1)')
    parser.add_argument('--doublings', type=int, default=5, help='how many times to double the file (default 5)')
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frames = [np.clip(color_bars(i, args.height, args.width) + rng.normal(0, 4, (args.height, args.width, 3)),
                      0, 255).astype(np.uint8) for i in range(60)]
    with tempfile.TemporaryDirectory() as tmp:
        ep = Path(tmp) / 'episode.mp4'
        enc = EpisodeVideoEncoder(ep, args.width, args.height, 30, args.codec)
        for i in range(int(args.seconds * 30)):
            enc.add(frames[i % 60])
        encoded = enc.finish()
        big, out = Path(tmp) / 'file.mp4', Path(tmp) / 'next.mp4'
        shutil.copy(ep, big)
        timings = {}
        for _ in range(args.doublings):
            t0 = time.perf_counter()
            append_videos([big, big], out)
            dt = time.perf_counter() - t0
            shutil.move(out, big)
            timings[f'{big.stat().st_size / 1e6:.1f}'] = round(dt, 3)
            print(f'file now {big.stat().st_size / 1e6:.1f} MB, append took {dt:.3f} s', file=sys.stderr)
        print(json.dumps({
            'append_s_by_file_mb': timings,
            'episode_mb': round(ep.stat().st_size / 1e6, 3),
            'episode_encode_busy_s': round(encoded.encode_seconds, 2),
            'episode_seconds': args.seconds,
            'resolution': [args.width, args.height],
            'codec': args.codec,
        }))


if __name__ == '__main__':
    main()
