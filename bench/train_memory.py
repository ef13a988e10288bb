#!/usr/bin/env python3
"""Host memory and time of one `fit` run on a dataset of the size users record, measured from outside.

Writes the dataset first when asked (robolearn's DatasetWriter, the recorder's: AV1 mp4 + parquet), then
starts `fit` as a child process and samples the summed PSS and RSS of it and its DataLoader workers every
0.5 s (/proc). Reports those peaks, fit's own summary (peak_host_memory_gb, cache size, load time), the
cache's size on disk, and what a table decoded whole into memory at the recorded resolution needs (the
frames, twice over while torch.cat joins the episodes: what fit did before the on-disk cache).

    python bench/train_memory.py --make-dataset /data/big --episodes 50 --frames 600 --height 480 --width 640 \\
        -- --policy act --image-size 240x320 --batch-size 8 --steps 20 --workers 2 --cache-dir /data/cache

Arguments after ``--`` go to fit (``--dataset`` and ``--output`` are added). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / 'src'


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob('*') if p.is_file()) if path.exists() else 0


def main() -> int:
    argv = sys.argv[1:]
    fit_args = argv[argv.index('--') + 1:] if '--' in argv else []
    argv = argv[:argv.index('--')] if '--' in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset', type=Path, help='an existing LeRobot v3.0 dataset')
    parser.add_argument('--make-dataset', type=Path, metavar='DIR', help='first write a generated dataset there')
    parser.add_argument('--episodes', type=int, default=50)
    parser.add_argument('--frames', type=int, default=600, help='frames per episode (600: 20 s at 30 fps)')
    parser.add_argument('--cameras', type=int, default=2)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--output', type=Path, help="fit's --output (default: a temporary folder)")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(SRC / 'robolearn_core'), str(HERE)]
    from robolearn_core.training.host_memory import tree_memory_bytes

    root = args.make_dataset or args.dataset
    if root is None:
        parser.error('give --dataset DIR or --make-dataset DIR')
    result: dict = {'dataset': str(root)}
    if args.make_dataset:
        from train import make_dataset_with_robolearn
        t0 = time.perf_counter()
        make_dataset_with_robolearn(root, args.episodes, args.frames, args.height, args.width, args.cameras)
        result['dataset_write_s'] = round(time.perf_counter() - t0, 1)
    info = json.loads((root / 'meta' / 'info.json').read_text())
    cams = [k for k, f in info['features'].items() if f['dtype'] == 'video']
    frame_bytes = sum(int(info['features'][k]['shape'][0]) * int(info['features'][k]['shape'][1]) * 3 for k in cams)
    decoded = info['total_frames'] * frame_bytes
    result.update(frames=info['total_frames'], episodes=info['total_episodes'], cameras=len(cams),
                  dataset_on_disk_gb=round(folder_bytes(root) / 1e9, 2),
                  decoded_at_recorded_size_gb=round(decoded / 1e9, 2),
                  whole_table_in_memory_peak_gb=round(2 * decoded / 1e9, 2))
    output = args.output or Path(tempfile.mkdtemp(prefix='rl_memory_'))
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(SRC / 'robolearn_core'), str(SRC / 'robolearn_train'),
                                                        os.environ.get('PYTHONPATH', '')])}
    cmd = [sys.executable, '-m', 'robolearn_train.fit', '--dataset', str(root), '--output', str(output),
           '--no-progress', *fit_args]
    print('bench: ' + ' '.join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    peaks = {'Pss': 0, 'Rss': 0}
    lines: list[str] = []
    import threading
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        for field in peaks:
            peaks[field] = max(peaks[field], tree_memory_bytes(proc.pid, field))
        time.sleep(0.5)
    reader.join()
    result['fit_wall_s'] = round(time.perf_counter() - t0, 1)
    result['fit_exit'] = proc.returncode
    result['peak_pss_gb_from_outside'] = round(peaks['Pss'] / 1e9, 3)
    result['peak_rss_sum_gb_from_outside'] = round(peaks['Rss'] / 1e9, 3)
    summaries = [json.loads(line) for line in lines if line.startswith('{')]
    if summaries:
        s = summaries[-1]
        result['fit'] = {k: s.get(k) for k in ('peak_host_memory_gb', 'cache_gb', 'cache_dir', 'data_path',
                                                'dataset_load_s', 'samples_per_s', 'steps_done', 'image_size', 'device')}
        if s.get('cache_dir'):
            result['cache_on_disk_gb'] = round(folder_bytes(Path(s['cache_dir'])) / 1e9, 2)
    print(json.dumps(result))
    return 0 if proc.returncode == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
