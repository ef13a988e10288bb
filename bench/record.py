#!/usr/bin/env python3
"""Record one episode through the real recorder process and time what LeRobot users wait for.

Graph (separate processes over real DDS, as a launch file would start them): ``--cameras`` camera_node
processes playing a synthetic clip (source ``file``: a moving test pattern with sensor-like noise, so the
encoder does real work), follower and leader joint states at 100 Hz from this process, and recorder_node
writing a LeRobot v3.0 dataset at 30 fps. After ``--seconds`` of recording, ``~/save_episode`` is called
and its round trip timed. The last output line is one JSON object:

  frames                  camera frames in the saved episode, over all cameras
  dropped_frames          frames missing: ticks the recorder dropped (x cameras) + frames the cameras dropped
  save_episode_s          ~/save_episode service round trip (what the operator waits for)
  encode_realtime_factor  seconds of video per second the slowest encoder was busy (> 1: faster than real time)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from robolearn_camera.color_bars import color_bars  # noqa: E402
from robolearn_core.calibration import ArmCalibration  # noqa: E402
from robolearn_core.dataset.reader import DatasetReader  # noqa: E402
from robolearn_core.dataset.validate import validate  # noqa: E402
from robolearn_core.so_arm.joints import JOINT_NAMES  # noqa: E402
from tests.harness.ros_graph import DomainLease, RosGraph  # noqa: E402


def make_clip(path: Path, width: int, height: int, frames: int = 60) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(path), 'w') as c:
        s = c.add_stream('libx264', rate=30, options={'crf': '18', 'preset': 'veryfast'})
        s.width, s.height, s.pix_fmt = width, height, 'yuv420p'
        for i in range(frames):
            img = color_bars(i, height, width).astype(np.int16) + rng.normal(0, 4, (height, width, 3)).astype(np.int16)
            f = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format='rgb24')
            f.pts, f.time_base = i, Fraction(1, 30)
            c.mux(s.encode(f))
        c.mux(s.encode(None))


def call(g: RosGraph, service: str, timeout: float = 60.0) -> tuple[Trigger.Response, float]:
    client = g.node.create_client(Trigger, f'/recorder/{service}')
    g.spin_until(client.service_is_ready, timeout, f'service /recorder/{service}')
    t0 = time.perf_counter()
    future = client.call_async(Trigger.Request())
    g.spin_until(future.done, timeout, f'/recorder/{service}')
    return future.result(), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=10.0, help='episode length in seconds (default 10)')
    parser.add_argument('--cameras', type=int, default=2, help='camera_node processes (default 2)')
    parser.add_argument('--width', type=int, default=640, help='image width (default 640)')
    parser.add_argument('--height', type=int, default=480, help='image height (default 480)')
    parser.add_argument('--codec', choices=['av1', 'h264'], default='av1', help='dataset video codec (default av1)')
    parser.add_argument('--keep', help='keep the dataset in this folder instead of a temporary one')
    args = parser.parse_args()

    lease = DomainLease()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = Path(args.keep) if args.keep else work / 'dataset'
        clip = work / 'clip.mp4'
        make_clip(clip, args.width, args.height)
        motors = {n: {'id': i + 1, 'drive_mode': 0, 'homing_offset': 0, 'range_min': 1000, 'range_max': 3000}
                  for i, n in enumerate(JOINT_NAMES)}
        calibration = work / 'calibration.json'
        ArmCalibration.from_dict(motors).save(calibration)

        g = RosGraph(lease.domain_id, work)
        try:
            names = [f'cam{i}' for i in range(args.cameras)]
            for name in names:
                g.start('robolearn_camera', 'camera_node', name=f'{name}_camera', params={
                    'camera_name': name, 'source': 'file', 'device': str(clip), 'width': args.width,
                    'height': args.height, 'fps': 30.0})
            pubs = [g.publisher(t, JointState) for t in ('/follower/joint_states', '/leader/joint_states')]

            def publish() -> None:
                t = time.monotonic()
                for k, pub in enumerate(pubs):
                    pos = [0.3 * np.sin(t + j + k * 0.1) for j in range(6)]
                    pub.publish(JointState(name=list(JOINT_NAMES), position=pos))

            g.node.create_timer(0.01, publish)
            diags = g.subscribe('/diagnostics', DiagnosticArray)
            g.start('robolearn_teleop', 'recorder_node', name='recorder', params={
                'root': str(root), 'calibration_file': str(calibration), 'task': 'bench', 'cameras': names,
                'video_codec': args.codec})
            for _ in range(120):
                resp, _ = call(g, 'start_episode')
                if resp.success:
                    break
                g.spin_for(0.25)
            else:
                raise SystemExit(f'recorder never became ready: {resp.message}')
            print(resp.message, file=sys.stderr)
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                g.spin_for(min(5.0, args.seconds - (time.monotonic() - started)))
                print(f'recording: {time.monotonic() - started:.0f}/{args.seconds:g} s', file=sys.stderr)
            resp, save_s = call(g, 'save_episode')
            if not resp.success:
                raise SystemExit(f'save_episode failed: {resp.message}')
            print(resp.message, file=sys.stderr)
            g.spin_for(1.2)
            m = re.search(r'(\d+) frames, (\d+) dropped(?: \(([^)]*)\))?, save took ([\d.]+) s, encoder ([\d.inf]+)x',
                          resp.message)
            length, ticks_dropped, reasons, save_inside, factor = int(m[1]), int(m[2]), m[3] or '', float(m[4]), float(m[5])
            camera_dropped = 0
            for name in names:
                last = [dict((kv.key, kv.value) for kv in s.values) for d in diags for s in d.status
                        if s.name.endswith(f'camera {name}')]
                camera_dropped += int(last[-1]['dropped_frames']) if last else 0
        finally:
            problems = g.close()
            lease.release()
        rep = validate(root)
        reader = DatasetReader(root)
        result = {
            'frames': length * args.cameras,
            'dropped_frames': ticks_dropped * args.cameras + camera_dropped,
            'save_episode_s': round(save_s, 3),
            'encode_realtime_factor': round(factor, 2),
            'save_inside_recorder_s': save_inside,
            'episode_frames': length,
            'expected_frames': round(args.seconds * 30),
            'recorder_dropped_ticks': ticks_dropped,
            'recorder_drop_reasons': reasons,
            'camera_dropped_frames': camera_dropped,
            'seconds': args.seconds,
            'cameras': args.cameras,
            'resolution': [args.width, args.height],
            'codec': args.codec,
            'dataset_valid': rep.ok,
            'frames_read_back': len(reader),
            'dataset_mb': round(sum(p.stat().st_size for p in root.rglob('*') if p.is_file()) / 1e6, 2),
            'clean_shutdown': not problems,
        }
    print(json.dumps(result))


if __name__ == '__main__':
    main()
