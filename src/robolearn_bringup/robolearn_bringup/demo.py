"""`make demo`: run the most complete part of the robolearn pipeline that exists, and say what is missing.

Everything it produces goes under runs/demo/<timestamp>/ (git-ignored): node logs, report.json, report.md
and pictures. Stages not built yet are listed as such in the report, never faked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image

from robolearn_camera.image_conversion import image_to_array
from robolearn_core.process_graph import ProcessGraph

#: Pipeline stages in order, and what each one waits for. Updated as each lands.
NOT_YET = [
    ('simulated arm, driver and teleoperation', 'hardware and simulated-world issues'),
    ('recording episodes into a LeRobot v3.0 dataset', 'recording issue'),
    ('training a policy on the recording (fit)', 'policies issue'),
    ('closed-loop evaluation of the policy (evaluate)', 'deployment and closed-loop issues'),
]


def _camera_graph(run_dir: Path, config: Path, seconds: float) -> dict:
    """Two camera nodes, started as a launch file would, received over DDS for `seconds`."""
    graph = ProcessGraph(run_dir / 'logs')
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node('demo_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    frames: dict[str, list] = {'front': [], 'wrist': []}
    arrivals: dict[str, list[float]] = {cam: [] for cam in frames}

    def receiver(cam: str):
        return lambda msg: (frames[cam].append(msg), arrivals[cam].append(time.monotonic()))

    for cam in frames:
        node.create_subscription(Image, f'/cameras/{cam}/image_raw', receiver(cam), 10)
        graph.start('robolearn_camera', 'camera_node', name=f'{cam}_camera', params_file=config)
    def spin_while(condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while condition() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            if graph.crashed():
                raise RuntimeError(f'a node crashed:\n{graph.describe()}')

    try:
        spin_while(lambda: not all(frames.values()), timeout=30.0)  # start-up and discovery
        spin_while(lambda: True, timeout=seconds)
    finally:
        problems = graph.close()
        executor.shutdown()
        rclpy.shutdown(context=context)
    result = {'seconds': seconds, 'problems': problems}
    for cam, msgs in frames.items():
        t = arrivals[cam]
        # rate from the first frame on: discovery time is not the camera's fault
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0
        result[cam] = {'frames': len(msgs), 'fps': round(fps, 1)}
        if msgs:
            _save_png(image_to_array(msgs[-1], 'rgb8'), run_dir / f'{cam}_last_frame.png')
    return result


def _save_png(rgb, path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    plt.imsave(path, rgb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='demo', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(os.environ.get('ROBOLEARN_ROOT', Path.cwd()))
    parser.add_argument('--runs', type=Path, default=root / 'runs' / 'demo', help='parent folder of the run (default: %(default)s)')
    parser.add_argument('--config', type=Path, default=root / 'config' / 'camera.yaml', help='camera parameters (default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=5.0, help='how long to stream (default: %(default)s)')
    args = parser.parse_args(argv)
    run_dir = args.runs / datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')
    run_dir.mkdir(parents=True)
    print(f'demo: writing to {run_dir}')
    print('demo: stage 1/1 that exists today: camera graph (two camera_node processes, test pattern, real DDS)')
    report = {'run_dir': str(run_dir), 'camera_graph': _camera_graph(run_dir, args.config, args.seconds),
              'not_yet_implemented': [f'{what} ({issue})' for what, issue in NOT_YET]}
    (run_dir / 'report.json').write_text(json.dumps(report, indent=2))
    lines = ['# robolearn demo', '', f'Run: `{run_dir}`', '', '## Camera graph', '']
    for cam in ('front', 'wrist'):
        r = report['camera_graph'][cam]
        lines.append(f'- {cam}: {r["frames"]} frames received in {args.seconds:g} s, {r["fps"]} fps after the first; last frame: {cam}_last_frame.png')
    lines += ['', '## Not implemented yet', ''] + [f'- {x}' for x in report['not_yet_implemented']]
    (run_dir / 'report.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    ok = not report['camera_graph']['problems'] and all(report['camera_graph'][c]['frames'] > 0 for c in ('front', 'wrist'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
