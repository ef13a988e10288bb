#!/usr/bin/env python3
"""The LeRobot peer through DeployedPolicy's interface, on real dataset frames, without ROS (robolearn's env).

    scripts/with-env python bench/lerobot_peer/check_adapter.py --checkpoint DIR --dataset DS [--episode 1]

What the policy node would do, step by step: LeRobotPeerPolicy(checkpoint, 'cpu', calibration) (which starts
the LeRobot chunk server), warm_up, then for frames of a dataset episode: observe(t, joint radians, rgb
images) 1/fps apart and infer(t) -> a Chunk (stamp t, points i/fps, radians). Checks, as JSON (last line):
  - the chunk's shape (LeRobot's chunk_size x 6), times (i / dataset fps) and units (radians, inside the
    calibrated joint range);
  - the unit round trip: the chunk converted back to dataset units equals the server's chunk for the
    dataset-unit observation sent directly (so radians <-> degrees/0..100 is right both ways);
  - the chunk error against the recorded actions (chunk_metric, dataset units), and inference latency.
The observation's radians come from the dataset's state through the same calibration, as the follower
driver would publish them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from backend import LeRobotPeerPolicy  # noqa: E402
from chunk_metric import ChunkErrorAccumulator  # noqa: E402

from robolearn_core.calibration import ArmCalibration  # noqa: E402
from robolearn_core.dataset.reader import DatasetReader  # noqa: E402
from robolearn_core.feetech.sim_bus import matching_calibration  # noqa: E402
from robolearn_core.so_arm.frame_schema import STATE_KEY  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='LeRobot pretrained_model directory')
    parser.add_argument('--dataset', required=True, help='the LeRobot v3.0 dataset it was trained on')
    parser.add_argument('--episode', type=int, default=None, help="episode (default: the checkpoint's first held-out)")
    parser.add_argument('--frames', type=int, default=20, help='inferences, spread over the episode')
    parser.add_argument('--calibration', default=None, help='follower calibration JSON (default: the simulated world '
                        "file /tmp/robolearn_sim/follower.json if there is one, else the simulated arm's matching one)")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=1, help="torch CPU threads (the policy node's default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # the server takes the node's thread count

    cal_path = args.calibration or ('/tmp/robolearn_sim/follower.json'
                                    if Path('/tmp/robolearn_sim/follower.json').is_file() else None)
    calibration = ArmCalibration.load(cal_path) if cal_path else matching_calibration()
    t0 = time.perf_counter()
    peer = LeRobotPeerPolicy(args.checkpoint, args.device, calibration)
    start_s = time.perf_counter() - t0
    try:
        warm = peer.warm_up(2)
        dep_file = Path(args.checkpoint) / 'robolearn_deployment.json'
        held = json.loads(dep_file.read_text()).get('holdout_episodes') if dep_file.is_file() else None
        episode = args.episode if args.episode is not None else (held or [0])[0]
        reader = DatasetReader(args.dataset, episodes=[episode])
        n = len(reader)
        actions = np.asarray(reader.columns['action'], dtype=np.float32)
        frames = np.linspace(0, n - 1, min(args.frames, n)).round().astype(int)
        fps = peer.fps
        acc = ChunkErrorAccumulator((1, 10, 30, 100), [str(x) for x in peer.deployment.action_names])
        latencies, roundtrip, checks = [], [], []
        peer.reset()
        for t in frames:
            item = reader[int(t)]
            state_units = item[STATE_KEY]
            state_rad = peer.schema.actions_to_radians(state_units[None])[0]
            images = {cam: reader.episode_frames_uint8(f'observation.images.{cam}', 0, np.array([t]))[0]
                      for cam in peer.cameras}
            stamp = float(t) / fps
            peer.observe(stamp, state_rad, images)
            start = time.perf_counter()
            chunk = peer.infer(stamp)
            latencies.append((time.perf_counter() - start) * 1000)
            back = peer.schema.radians_to_actions(chunk.positions)
            direct = peer.policy.predict_chunk({STATE_KEY: state_units, **{
                f'observation.images.{c}': np.ascontiguousarray(images[c].transpose(2, 0, 1)) for c in peer.cameras}})
            roundtrip.append(float(np.abs(back - direct).max()))
            rows = np.arange(len(back)) + t
            acc.add(back, actions[np.clip(rows, 0, n - 1)], rows < n)
            checks.append({'frame': int(t), 'stamp': chunk.stamp, 'shape': list(chunk.positions.shape),
                           'times_ok': bool(np.allclose(chunk.times, np.arange(len(chunk.times)) / fps)),
                           'rad_min': round(float(chunk.positions.min()), 3), 'rad_max': round(float(chunk.positions.max()), 3)})
        result = {
            'checkpoint': args.checkpoint, 'dataset': args.dataset, 'episode': episode, 'calibration': cal_path or 'matching',
            'server': peer.info, 'config_name': peer.config.name, 'horizon': peer.config.horizon,
            'horizon_s': round(peer.horizon_s, 4), 'fps': fps, 'cameras': peer.cameras, 'units': peer.deployment.units,
            'supports_prefix': peer.supports_prefix, 'newest_time': peer.history.newest_time(),
            'chunk_shape': checks[0]['shape'], 'times_ok': all(c['times_ok'] for c in checks),
            'radians_range': [min(c['rad_min'] for c in checks), max(c['rad_max'] for c in checks)],
            'radians_within_pi': all(-np.pi <= c['rad_min'] and c['rad_max'] <= np.pi for c in checks),
            'unit_roundtrip_max_abs': round(max(roundtrip), 6), 'chunk_error': acc.result(),
            'start_s': round(start_s, 1), 'warm_up_last_ms': round(warm * 1000, 1),
            'infer_ms_p50': round(float(np.percentile(latencies, 50)), 1),
            'infer_ms_max': round(float(np.max(latencies)), 1), 'server_infer_ms_last': peer.policy.last_infer_ms,
            'first_chunk': checks[0],
        }
    finally:
        peer.close()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
