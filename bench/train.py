#!/usr/bin/env python3
"""Training throughput (samples/s) of robolearn and, in the same run, of LeRobot, on one dataset and GPU.

Each framework runs in a fresh process (no CUDA context or cuDNN autotuning shared between them).
Both train the same kind of policy with matched sizes from the same LeRobot v3.0 dataset on disk
(video + parquet), with bf16 autocast, the same batch size and the same number of data-loader
workers; the clock runs over the training steps with each framework's data pipeline in it. robolearn
decodes the dataset once (whole episodes in DataLoader workers) into a uint8 table on the GPU and
gathers batches there;
LeRobot decodes every sample's frames in DataLoader workers (its own LeRobotDataset, pyav backend).

    python bench/train.py --policy act --device cuda --make-dataset /tmp/bench_ds
    python bench/train.py --policy diffusion --device cuda --dataset /tmp/bench_ds --frameworks robolearn

Prints progress and one JSON object as the last line:
{"policy", "robolearn": {"samples_per_s", ...}, "lerobot": {...}, "ratio"}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'src' / 'robolearn_core'))

CAMERAS = {'observation.images.front': (96, 128), 'observation.images.wrist': (96, 128)}
JOINTS = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos']


def make_dataset_with_lerobot(root: Path, episodes: int, frames: int, fps: int = 30) -> None:
    """Write a LeRobot v3.0 dataset with LeRobot's own writer (so LeRobot surely reads it)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {'observation.state': {'dtype': 'float32', 'shape': (6,), 'names': JOINTS},
                'action': {'dtype': 'float32', 'shape': (6,), 'names': JOINTS}}
    for key, (h, w) in CAMERAS.items():
        features[key] = {'dtype': 'video', 'shape': (h, w, 3), 'names': ['height', 'width', 'channels']}
    if root.exists():
        shutil.rmtree(root)
    ds = LeRobotDataset.create(repo_id='local/robolearn_bench', fps=fps, features=features, root=root,
                               robot_type='so100_follower', use_videos=True)
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:96, 0:128]
    for _ in range(episodes):
        phase = rng.uniform(0, 2 * np.pi)
        theta = phase + 0.05 * np.arange(frames + 1)
        state = (np.stack([np.sin(theta + k) for k in range(6)], axis=1) * 40).astype(np.float32)
        for t in range(frames):
            frame = {'observation.state': state[t], 'action': state[t + 1], 'task': 'move'}
            for c, key in enumerate(CAMERAS):
                cy, cx = 48 + 30 * np.sin(theta[t] + c), 64 + 40 * np.cos(theta[t] + c)
                blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / 200.0)
                img = np.stack([blob * 255, blob * 128 + 40, 255 - blob * 200], axis=-1)
                frame[key] = img.astype(np.uint8)
            ds.add_frame(frame)
        ds.save_episode()
    ds.finalize()


def run_robolearn(policy: str, root: Path, steps: int, batch: int, workers: int, device: str) -> dict:
    from robolearn_core.dataset.reader import DatasetReader
    from robolearn_core.training.trainer import TrainSettings, fit

    t0 = time.perf_counter()
    source = DatasetReader(root)
    out = Path(tempfile.mkdtemp(prefix='rl_bench_'))
    settings = TrainSettings(output_dir=str(out), steps=steps, batch_size=batch, device=device, workers=workers,
                             val_every=10 ** 9, save_every=10 ** 9, log_every=max(1, steps // 5), progress=False,
                             amp='bf16', val_max_frames=batch)
    summary = fit(source, policy, settings)
    wall = time.perf_counter() - t0
    from robolearn_core.policies import load_policy
    params = sum(p.numel() for p in load_policy(summary['last_checkpoint']).parameters())
    shutil.rmtree(out, ignore_errors=True)
    return {'samples_per_s': round(summary['samples_per_s_after_warmup'], 1),
            'samples_per_s_incl_first_steps': round(summary['samples_per_s'], 1),
            # LeRobot's loop here validates and saves nothing: fit's validation passes and checkpoints are left out
            'samples_per_s_with_setup': round(steps * batch / (wall - summary['validation_and_saving_s']), 1),
            'setup_and_train_s': round(wall - summary['validation_and_saving_s'], 2),
            'validation_and_saving_s': round(summary['validation_and_saving_s'], 2),
            'dataset_load_s': round(summary['dataset_load_s'], 2), 'first_steps_s': round(summary['first_steps_s'], 2),
            'params_m': round(params / 1e6, 2), 'data_on_gpu': summary['data_on_device'],
            'final_train_loss': summary['final_train_loss']}


def lerobot_config(policy: str, device: str):
    from lerobot.policies.factory import make_policy_config
    if policy == 'act':
        # LeRobot's ACT defaults are the paper's, as are robolearn's; no download of ImageNet weights
        return make_policy_config('act', device=device, pretrained_backbone_weights=None, push_to_hub=False)
    # matched to robolearn's diffusion defaults: horizon 16, 2 observation steps, U-Net (256, 512, 1024),
    # one GroupNorm ResNet-18 shared by the cameras, no crop
    return make_policy_config('diffusion', device=device, pretrained_backbone_weights=None, horizon=16,
                              n_action_steps=8, n_obs_steps=2, down_dims=(256, 512, 1024), use_group_norm=True,
                              use_separate_rgb_encoder_per_camera=False, drop_n_last_frames=7, push_to_hub=False)


def run_lerobot(policy: str, root: Path, steps: int, batch: int, workers: int, device: str, warmup: int) -> dict:
    from lerobot.datasets.factory import resolve_delta_timestamps
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    from lerobot.datasets.sampler import EpisodeAwareSampler
    from lerobot.policies.factory import make_policy, make_pre_post_processors

    t0 = time.perf_counter()
    cfg = lerobot_config(policy, device)
    meta = LeRobotDatasetMetadata('local/robolearn_bench', root=root)
    ds = LeRobotDataset('local/robolearn_bench', root=root, delta_timestamps=resolve_delta_timestamps(cfg, meta),
                        video_backend='pyav')
    model = make_policy(cfg, ds_meta=meta)
    pre, _ = make_pre_post_processors(cfg, dataset_stats=ds.meta.stats)
    optimizer = cfg.get_optimizer_preset().build(model.get_optim_params())
    sampler = EpisodeAwareSampler(ds.meta.episodes['dataset_from_index'], ds.meta.episodes['dataset_to_index'],
                                  episode_indices_to_use=ds.episodes,
                                  drop_n_last_frames=getattr(cfg, 'drop_n_last_frames', 0), shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers,
                                         pin_memory=True, drop_last=True, persistent_workers=workers > 0,
                                         prefetch_factor=2 if workers else None)

    def forever():
        while True:
            yield from loader

    it = forever()
    model.train()
    grad_clip = getattr(cfg, 'optimizer_grad_clip_norm', 10.0)
    t_start = None
    data_s = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            torch.cuda.synchronize()
            t_start = time.perf_counter()
            data_s = 0.0
        td = time.perf_counter()
        b = next(it)
        for key in ds.meta.camera_keys:
            if key in b and b[key].dtype == torch.uint8:
                b[key] = b[key].float() / 255.0
        b = pre(b)
        data_s += time.perf_counter() - td
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss, _ = model.forward(b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    train_s = time.perf_counter() - t_start
    wall = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    return {'samples_per_s': round(steps * batch / train_s, 1),
            'samples_per_s_with_setup': round((warmup + steps) * batch / wall, 1), 'setup_and_train_s': round(wall, 2),
            'params_m': round(params / 1e6, 2), 'waiting_for_data_fraction': round(data_s / train_s, 3),
            'final_train_loss': float(loss.item())}


def run_in_child(name: str, args: argparse.Namespace, root: Path) -> dict:
    """This script for one framework in a new process; its output passes through, its result is returned."""
    cmd = [sys.executable, __file__, '--policy', args.policy, '--device', args.device, '--dataset', str(root),
           '--steps', str(args.steps), '--warmup', str(args.warmup), '--batch-size', str(args.batch_size),
           '--workers', str(args.workers), '--frameworks', name]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    last = ''
    for line in proc.stdout:
        print(line, end='', flush=True)
        last = line
    if proc.wait() != 0:
        return {'error': f'{name} run exited with {proc.returncode}'}
    return json.loads(last).get(name, {'error': 'no result'})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--policy', choices=('act', 'diffusion'), required=True, help='policy trained by both')
    parser.add_argument('--device', default='cuda', help='a CUDA device (LeRobot side needs CUDA)')
    parser.add_argument('--dataset', type=Path, help='an existing LeRobot v3.0 dataset with state 6 and two cameras')
    parser.add_argument('--make-dataset', type=Path, metavar='DIR', help='first write a synthetic dataset there with LeRobot')
    parser.add_argument('--episodes', type=int, default=20, help='episodes of the synthetic dataset')
    parser.add_argument('--frames', type=int, default=300, help='frames per episode of the synthetic dataset')
    parser.add_argument('--steps', type=int, default=200, help='timed training steps per framework')
    parser.add_argument('--warmup', type=int, default=10,
                        help='untimed LeRobot steps first (robolearn leaves out its first 10 steps likewise)')
    parser.add_argument('--batch-size', type=int, default=64, help='samples per step, both frameworks')
    parser.add_argument('--workers', type=int, default=max(1, min(16, (os.cpu_count() or 2) - 1)),
                        help='DataLoader worker processes, both frameworks')
    parser.add_argument('--frameworks', default='robolearn,lerobot', help='comma list: robolearn, lerobot')
    args = parser.parse_args()
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    root = args.make_dataset or args.dataset
    if root is None:
        parser.error('give --dataset DIR or --make-dataset DIR')
    if args.make_dataset:
        t0 = time.perf_counter()
        make_dataset_with_lerobot(args.make_dataset, args.episodes, args.frames)
        print(f'bench: wrote {args.episodes}x{args.frames} frames to {root} in {time.perf_counter() - t0:.1f} s', flush=True)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    result: dict = {'policy': args.policy, 'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu',
                    'batch_size': args.batch_size, 'steps': args.steps, 'workers': args.workers, 'dataset': str(root)}
    names = args.frameworks.split(',')
    for name in names:
        if name not in ('robolearn', 'lerobot'):
            parser.error(f'unknown framework {name!r}')
    for name in names:
        if len(names) > 1:  # each in a fresh process: no CUDA context, cuDNN autotuning or cache shared
            result[name] = run_in_child(name, args, root)
            continue
        try:
            if name == 'robolearn':
                result['robolearn'] = run_robolearn(args.policy, root, args.steps, args.batch_size, args.workers, args.device)
            else:
                result['lerobot'] = run_lerobot(args.policy, root, args.steps, args.batch_size, args.workers,
                                                args.device, args.warmup)
        except Exception as err:  # report which side failed and why, keep the other's numbers
            import traceback
            traceback.print_exc()
            result[name] = {'error': f'{type(err).__name__}: {err}'}
        print(f'bench: {name}: {json.dumps(result.get(name))}', flush=True)
    rl, le = result.get('robolearn', {}), result.get('lerobot', {})
    if 'samples_per_s' in rl and 'samples_per_s' in le:
        result['ratio'] = round(rl['samples_per_s'] / le['samples_per_s'], 2)
        result['ratio_with_setup'] = round(rl['samples_per_s_with_setup'] / le['samples_per_s_with_setup'], 2)
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
