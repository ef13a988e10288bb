#!/usr/bin/env python3
"""Latency of one ``predict_chunk`` call (batch 1) with the default config of a policy.

Input: a 6-D state and two 96x128 RGB cameras, as numpy arrays (the policy node's path: host arrays in,
host chunk out, transfers included). Weights are random: latency does not depend on their values.
Prints progress, then one JSON object as the last line: {"p50_ms", "p99_ms", ...}.

    scripts/with-env python bench/inference.py --policy act --device cpu
    python bench/inference.py --policy diffusion --device cuda --cuda-graph --dtype bfloat16
    # a trained checkpoint through DeployedPolicy, as policy_node runs it (observe + infer: units, resize,
    # history; flow and diffusion continue the previous chunk's remaining setpoints, real-time chunking):
    python bench/inference.py --checkpoint runs/flow/checkpoints/best --calibration follower.json --device cuda \
        --cuda-graph --dtype bfloat16 --rtc-delay 0.1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'src' / 'robolearn_core'))

from robolearn_core.policies import POLICIES, make_config, make_policy  # noqa: E402

CAMERAS = ('observation.images.front', 'observation.images.wrist')
HEIGHT, WIDTH = 96, 128


def so100_like_metadata() -> tuple[dict, dict]:
    """Features and stats of a dataset with state 6 and two 96x128 cameras (LeRobot layout)."""
    names = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos']
    vec = {'dtype': 'float32', 'shape': [6], 'names': names}
    features = {'observation.state': vec, 'action': dict(vec)}
    stats = {k: {'mean': np.zeros(6, np.float32), 'std': np.full(6, 30, np.float32),
                 'min': np.full(6, -100, np.float32), 'max': np.full(6, 100, np.float32)}
             for k in ('observation.state', 'action')}
    for cam in CAMERAS:
        features[cam] = {'dtype': 'video', 'shape': [HEIGHT, WIDTH, 3], 'names': ['height', 'width', 'channels']}
        stats[cam] = {'mean': np.full((3, 1, 1), 0.45, np.float32), 'std': np.full((3, 1, 1), 0.25, np.float32),
                      'min': np.zeros((3, 1, 1), np.float32), 'max': np.ones((3, 1, 1), np.float32)}
    return features, stats


def deployed_latency(args: argparse.Namespace, device: torch.device) -> dict:
    """Milliseconds of DeployedPolicy.observe + infer per chunk, the policy node's work between an observation and its
    chunk (no DDS, no image message conversion). Observations 1/fps apart; a prefix-capable policy gets the
    previous chunk's setpoints still ahead as the executor would send them."""
    from robolearn_core.calibration import ArmCalibration
    from robolearn_core.policies.deployed_policy import DeployedPolicy
    from robolearn_core.so_arm.frame_schema import image_key

    calibration = ArmCalibration.load(args.calibration) if args.calibration else None
    deployed = DeployedPolicy(args.checkpoint, str(device), calibration, dtype=args.dtype, cuda_graph=args.cuda_graph)
    rng = np.random.default_rng(0)
    lower, upper = calibration.limits_radians() if calibration else (np.full(6, -1.0), np.full(6, 1.0))
    sizes = {cam: deployed.deployment.cameras[image_key(cam)] for cam in deployed.cameras}
    t, previous, times = 0.0, None, []
    for i in range(args.warmup + args.iters):
        state = rng.uniform(0.8 * lower, 0.8 * upper)
        images = {cam: rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for cam, (h, w) in sizes.items()}
        pending = previous.after(t) if previous is not None and deployed.supports_prefix else None
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        deployed.observe(t, state, images)
        chunk = deployed.infer(t, pending, args.rtc_delay if pending is not None else 0.0)
        dt = (time.perf_counter() - t0) * 1e3  # infer returns host arrays: the device work is done
        if i >= args.warmup:
            times.append(dt)
        previous, t = chunk, t + 8 / deployed.fps  # the next request 8 frames later
    cfg = deployed.config
    return {'checkpoint': str(args.checkpoint), 'policy': cfg.name, 'device': str(device),
            'gpu': torch.cuda.get_device_name(device) if device.type == 'cuda' else None, 'dtype': args.dtype,
            'cuda_graph': args.cuda_graph, 'threads': torch.get_num_threads(), 'horizon': cfg.horizon,
            'rtc': bool(deployed.supports_prefix), 'cameras': {k: list(v) for k, v in sizes.items()}, 'iters': args.iters,
            'p50_ms': round(float(np.percentile(times, 50)), 3), 'p99_ms': round(float(np.percentile(times, 99)), 3),
            'max_ms': round(float(np.max(times)), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--policy', choices=list(POLICIES), help='policy with its default config (random weights)')
    parser.add_argument('--checkpoint', type=Path, help='instead: a trained checkpoint, through DeployedPolicy')
    parser.add_argument('--calibration', type=Path, help="with --checkpoint: the follower's calibration JSON (SO units)")
    parser.add_argument('--rtc-delay', type=float, default=0.1,
                        help='with --checkpoint: seconds of inference delay assumed by real-time chunking (flow, diffusion)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--iters', type=int, default=200, help='timed calls')
    parser.add_argument('--warmup', type=int, default=20, help='untimed calls first')
    parser.add_argument('--amp', choices=('off', 'bf16'), default='off', help='bf16 autocast during inference')
    parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default='float32',
                        help='weights kept in this dtype (Policy.set_inference_dtype); sampler math stays float32')
    parser.add_argument('--cuda-graph', action='store_true', help='replay the sampling loop as one CUDA graph')
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='config override (JSON value)')
    args = parser.parse_args()
    if (args.policy is None) == (args.checkpoint is None):
        parser.error('give --policy (default config, random weights) or --checkpoint')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.checkpoint is not None:
        print(json.dumps(deployed_latency(args, device)))
        return 0
    features, stats = so100_like_metadata()
    overrides = dict(item.split('=', 1) for item in args.set)
    config = make_config(args.policy, overrides)
    torch.manual_seed(0)
    policy = make_policy(config, features, list(CAMERAS), stats).to(device).eval()
    if args.dtype != 'float32':
        policy.set_inference_dtype(getattr(torch, args.dtype))
    if args.cuda_graph:
        policy.use_cuda_graph(True, torch.bfloat16 if args.amp == 'bf16' else None)
    rng = np.random.default_rng(0)
    observations = [{'observation.state': rng.normal(0, 30, 6).astype(np.float32),
                     **{cam: rng.random((3, HEIGHT, WIDTH), dtype=np.float32) for cam in CAMERAS}} for _ in range(8)]
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp == 'bf16' and not args.cuda_graph)
    times = []
    with torch.inference_mode(False), autocast:
        for i in range(args.warmup + args.iters):
            obs = observations[i % len(observations)]
            t0 = time.perf_counter()
            chunk = policy.predict_chunk(obs)
            dt = (time.perf_counter() - t0) * 1e3
            if i >= args.warmup:
                times.append(dt)
    params = sum(p.numel() for p in policy.parameters())
    result = {
        'policy': args.policy,
        'device': str(device),
        'gpu': torch.cuda.get_device_name(device) if device.type == 'cuda' else None,
        'amp': args.amp,
        'dtype': args.dtype,
        'cuda_graph': args.cuda_graph,
        'threads': torch.get_num_threads(),
        'chunk_shape': list(chunk.shape),
        'params_m': round(params / 1e6, 2),
        'iters': args.iters,
        'p50_ms': round(float(np.percentile(times, 50)), 3),
        'p99_ms': round(float(np.percentile(times, 99)), 3),
        'mean_ms': round(float(np.mean(times)), 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
