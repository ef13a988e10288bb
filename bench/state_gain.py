#!/usr/bin/env python3
"""State gain of a checkpoint on held-out frames: how much its chunk follows a shift of the arm's state.

    scripts/with-env python bench/state_gain.py --checkpoint runs/flow/checkpoints/best --dataset DS

For every --stride-th frame of the held-out episodes (as bench/offline_chunk_error.py picks them), each joint
of the state is shifted by --delta (dataset units: degrees, gripper 0..100) in every history frame
(`history`) and in the newest only (`latest`), and the change of that joint's chunk rows is divided by the
shift (robolearn_core.policies.state_gain). Samplers run from the noise's mean, so the difference is the
state's alone. A mean gain near 1 or above on a joint says the policy follows its own drift there in closed
loop; `--set state_noise=0.1` in fit lowers it (docs/policies.md). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'src' / 'robolearn_core'))
from offline_chunk_error import add_held_out_arguments, held_out, observation_deltas, observation_frames  # noqa: E402

from robolearn_core.dataset.reader import DatasetReader  # noqa: E402
from robolearn_core.policies import load_policy  # noqa: E402
from robolearn_core.policies.checkpoint import read_checkpoint_config  # noqa: E402
from robolearn_core.policies.state_gain import state_gain  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_held_out_arguments(parser)
    parser.add_argument('--stride', type=int, default=25, help='every n-th frame of the held-out episodes')
    parser.add_argument('--delta', type=float, default=5.0, help='the state shift, in dataset units')
    parser.add_argument('--joints', default=None, help="state names to shift, 'wrist_roll.pos,shoulder_lift.pos' (default: all)")
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()

    t0 = time.perf_counter()
    meta = read_checkpoint_config(args.checkpoint)
    inference = {'inference_noise': 'zero'} if 'inference_noise' in meta['config'] else None
    policy = load_policy(args.checkpoint, args.device, inference)
    cfg = policy.config
    probe = DatasetReader(args.dataset)
    episodes, source = held_out(args, probe.num_episodes)
    all_names = probe.features[cfg.state_key].get('names') or [str(i) for i in range(cfg.state_dim)]
    names = args.joints.split(',') if args.joints else all_names
    unknown = [n for n in names if n not in all_names]
    if unknown:
        parser.error(f'--joints: {", ".join(unknown)} not in the state (its names: {", ".join(all_names)})')
    reader = DatasetReader(args.dataset, episodes=episodes, delta_timestamps=observation_deltas(cfg, probe.fps) or None)
    gains = {name: {'history': [], 'latest': []} for name in names}
    for i in range(0, len(reader), args.stride):
        frames = observation_frames(reader[i], cfg)
        for name in names:
            for kind, gain in state_gain(policy, frames, all_names.index(name), args.delta).items():
                gains[name][kind].append(gain)
    rows = [0, cfg.horizon // 2, cfg.horizon - 1]
    result = {name: {kind: {f'row_{r}': round(float(np.mean(np.stack(v)[:, r])), 3) for r in rows}
                     for kind, v in per.items()} for name, per in gains.items()}
    print(json.dumps({'benchmark': 'state_gain', 'policy': cfg.name, 'checkpoint': args.checkpoint,
                      'state_noise': cfg.state_noise, 'episodes': episodes, 'episodes_from': source,
                      'frames': len(gains[names[0]]['history']), 'delta': args.delta, 'gain': result,
                      'device': args.device, 'wall_s': round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
