#!/usr/bin/env python3
"""Training throughput (samples/s) of robolearn and, in the same run, of LeRobot, on one dataset and GPU.

Each framework runs in a fresh process (no CUDA context or cuDNN autotuning shared between them).
Both train the same kind of policy with matched sizes from the same LeRobot v3.0 dataset on disk
(video + parquet), with bf16 autocast, the same batch size and the same number of data-loader
workers; the clock runs over the training steps with each framework's data pipeline in it. robolearn
decodes the dataset once into its frame cache and keeps the table on the GPU where it fits, gathering
batches there; LeRobot decodes every sample's frames in DataLoader workers (its own LeRobotDataset, pyav).

    python bench/train.py --policy act --device cuda --make-dataset /tmp/bench_ds
    python bench/train.py --policy diffusion --device cuda --dataset /tmp/bench_ds --frameworks robolearn
    # robolearn alone on generated frames (no video, no PyAV needed), a grid of batch sizes and step modes:
    python bench/train.py --policy act --source generated --cameras 1 --height 240 --width 320 \
        --frameworks robolearn --batch-size 8,16,64 --cuda-graph off,on
    # the same with another checkout's robolearn_core (e.g. the code before a change): --robolearn-src DIR
    # several GPUs (DDP): --nproc 2 (torchrun; the batch size is per GPU, samples/s counts all GPUs)

Prints progress and one JSON object as the last line:
{"policy", "robolearn": {"samples_per_s", ...}, "lerobot": {...}, "ratio"} (one run), or
{"policy", "grid": [{"batch_size", "cuda_graph", "samples_per_s", "ms_per_step", ...}, ...]} (a grid).
"""

from __future__ import annotations

import argparse
import dataclasses
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

JOINTS = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos']
CAMERA_NAMES = ['front', 'wrist', 'top', 'side']


def use_robolearn_src(path: Path | None) -> None:
    """Import robolearn_core from ``path`` (a src/robolearn_core folder), default this checkout's."""
    default = Path(__file__).resolve().parents[1] / 'src' / 'robolearn_core'
    sys.path.insert(0, str(path or default))


def camera_keys(cameras: int) -> list[str]:
    return [f'observation.images.{CAMERA_NAMES[c]}' for c in range(cameras)]


def episode_frames(episode: int, frames: int, height: int, width: int, cameras: int,
                   only: list[str] | None = None) -> dict[str, np.ndarray]:
    """A generated episode: 6 joints on circles, action = next state, each camera a blob that follows them.

    Images (T, H, W, 3) uint8; rendered at a quarter of the size and upsampled, so 480x640 stays cheap.
    ``only``: the cameras to render (default all)."""
    rng = np.random.default_rng(episode)
    theta = rng.uniform(0, 2 * np.pi) + 0.05 * np.arange(frames + 1)
    state = (np.stack([np.sin(theta + k) for k in range(6)], axis=1) * 40).astype(np.float32)
    out = {'observation.state': state[:-1], 'action': state[1:]}
    h4, w4 = max(1, height // 4), max(1, width // 4)
    ys, xs = np.mgrid[0:h4, 0:w4].astype(np.float32)
    for c, key in enumerate(camera_keys(cameras)):
        if only is not None and key not in only:
            continue
        cy = (0.5 + 0.3 * np.sin(theta[:-1] + c))[:, None, None] * h4
        cx = (0.5 + 0.3 * np.cos(theta[:-1] + c))[:, None, None] * w4
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (0.02 * h4 * w4))
        small = np.stack([blob * 255, blob * 128 + 40, 255 - blob * 200], axis=-1).astype(np.uint8)
        big = small.repeat(4, axis=1).repeat(4, axis=2)
        out[key] = np.ascontiguousarray(np.pad(big, ((0, 0), (0, height - big.shape[1]), (0, width - big.shape[2]),
                                                     (0, 0)), mode='edge'))
    return out


class GeneratedSource:
    """A FrameSource of generated episodes, made on demand (no video): benchmarks of the training step where
    PyAV or a recorded dataset is not at hand. Stats come from the first episode."""

    def __init__(self, episodes: int, frames: int, height: int, width: int, cameras: int, fps: int = 30):
        self.fps, self.num_episodes, self._shape = fps, episodes, (frames, height, width, cameras)
        self.camera_keys = camera_keys(cameras)
        self.features = {'observation.state': {'dtype': 'float32', 'shape': [6], 'names': JOINTS},
                         'action': {'dtype': 'float32', 'shape': [6], 'names': JOINTS}}
        for key in self.camera_keys:
            self.features[key] = {'dtype': 'video', 'shape': [height, width, 3], 'names': ['height', 'width', 'channels']}
        first = episode_frames(0, frames, height, width, cameras)
        self.stats = {}
        for key, value in first.items():
            if key in self.camera_keys:
                pixels = value.reshape(-1, 3).astype(np.float32) / 255
                self.stats[key] = {'mean': pixels.mean(0)[:, None, None], 'std': pixels.std(0)[:, None, None],
                                   'min': np.zeros((3, 1, 1)), 'max': np.ones((3, 1, 1))}
            else:
                self.stats[key] = {'mean': value.mean(0), 'std': value.std(0), 'min': value.min(0) - 1,
                                   'max': value.max(0) + 1}

    def __len__(self) -> int:
        return self.num_episodes * self._shape[0]

    def episode_arrays(self, position: int, keys) -> dict[str, np.ndarray]:
        frames, height, width, cameras = self._shape
        out = {'episode_index': np.full(frames, position, np.int64), 'frame_index': np.arange(frames, dtype=np.int64)}
        if keys:
            data = episode_frames(position, frames, height, width, cameras, only=list(keys))
            for key in keys:
                out[key] = data[key].transpose(0, 3, 1, 2) if key in self.camera_keys else data[key]
        return out


def make_dataset_with_robolearn(root: Path, episodes: int, frames: int, height: int, width: int, cameras: int,
                                fps: int = 30, codec: str = 'av1') -> None:
    """Write a LeRobot v3.0 dataset with robolearn's own DatasetWriter (the recorder's), frame by frame."""
    from robolearn_core.dataset import layout
    from robolearn_core.dataset.writer import DatasetWriter

    if root.exists():
        shutil.rmtree(root)
    features = {'observation.state': layout.vector_feature(JOINTS), 'action': layout.vector_feature(JOINTS)}
    for key in camera_keys(cameras):
        features[key] = layout.video_feature(height, width, fps, codec)
    writer = DatasetWriter(root, fps, features, 'so100_follower', video_codec=codec)
    try:
        for e in range(episodes):
            data = episode_frames(e, frames, height, width, cameras)
            writer.start_episode('move')
            for t in range(frames):
                writer.add_frame({k: v[t] for k, v in data.items()})
            writer.save_episode()
            print(f'bench: episode {e + 1}/{episodes} written', flush=True)
    finally:
        writer.close()


def make_dataset_with_lerobot(root: Path, episodes: int, frames: int, fps: int = 30) -> None:
    """Write a LeRobot v3.0 dataset with LeRobot's own writer (so LeRobot surely reads it)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {'observation.state': {'dtype': 'float32', 'shape': (6,), 'names': JOINTS},
                'action': {'dtype': 'float32', 'shape': (6,), 'names': JOINTS}}
    for key in camera_keys(2):
        features[key] = {'dtype': 'video', 'shape': (96, 128, 3), 'names': ['height', 'width', 'channels']}
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
            for c, key in enumerate(camera_keys(2)):
                cy, cx = 48 + 30 * np.sin(theta[t] + c), 64 + 40 * np.cos(theta[t] + c)
                blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / 200.0)
                img = np.stack([blob * 255, blob * 128 + 40, 255 - blob * 200], axis=-1)
                frame[key] = img.astype(np.uint8)
            ds.add_frame(frame)
        ds.save_episode()
    ds.finalize()


def run_robolearn(args: argparse.Namespace, root: Path | None, batch: int, cuda_graph: str) -> dict:
    from robolearn_core.training import trainer
    from robolearn_core.training.trainer import TrainSettings, fit

    t0 = time.perf_counter()
    if args.source == 'generated':
        source = GeneratedSource(args.episodes, args.frames, args.height, args.width, args.cameras)
    else:
        from robolearn_core.dataset.reader import DatasetReader
        source = DatasetReader(root)
    out = Path(tempfile.mkdtemp(prefix='rl_bench_'))
    values = dict(output_dir=str(out), steps=args.steps, batch_size=batch, device=args.device, workers=args.workers,
                  val_every=10 ** 9, save_every=10 ** 9, log_every=max(1, args.steps // 5), progress=False, amp='bf16',
                  val_max_frames=batch, cuda_graph=cuda_graph, data_on_device=args.data_on_device,
                  cache_dir=str(out / 'cache'))
    known = {f.name for f in dataclasses.fields(TrainSettings)}  # an older checkout's fit lacks the newer options
    overrides = {k: json.loads(v) if v[:1] in '[{0123456789-' or v in ('true', 'false', 'null') else v
                 for k, v in (item.split('=', 1) for item in args.set)}
    if args.image_size:
        overrides['image_size'] = args.image_size
    summary = fit(source, args.policy, TrainSettings(**{k: v for k, v in values.items() if k in known}), overrides)
    wall = time.perf_counter() - t0
    from robolearn_core.policies import load_policy
    main_rank = int(os.environ.get('RANK', '0')) == 0  # under torchrun only rank 0 writes checkpoints
    params = sum(p.numel() for p in load_policy(summary['last_checkpoint']).parameters()) if main_rank else 0
    shutil.rmtree(out, ignore_errors=True)
    rate = summary['samples_per_s_after_warmup']
    return {'samples_per_s': round(rate, 1), 'ms_per_step': round(1000 * batch * summary.get('world_size', 1) / rate, 2),
            'samples_per_s_incl_first_steps': round(summary['samples_per_s'], 1),
            # LeRobot's loop here validates and saves nothing: fit's validation passes and checkpoints are left out
            'samples_per_s_with_setup': round(args.steps * batch * summary.get('world_size', 1)
                                              / (wall - summary['validation_and_saving_s']), 1),
            'setup_and_train_s': round(wall - summary['validation_and_saving_s'], 2),
            'validation_and_saving_s': round(summary['validation_and_saving_s'], 2),
            'dataset_load_s': round(summary['dataset_load_s'], 2), 'first_steps_s': round(summary['first_steps_s'], 2),
            'params_m': round(params / 1e6, 2), 'data_on_gpu': summary['data_on_device'],
            'cuda_graph': summary.get('cuda_graph', False), 'world_size': summary.get('world_size', 1),
            'peak_host_memory_gb': summary.get('peak_host_memory_gb'), 'final_train_loss': summary['final_train_loss'],
            'code': str(Path(trainer.__file__).resolve().parents[2])}


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


def run_lerobot(policy: str, root: Path, steps: int, batch: int, workers: int, device: str, warmup: int,
                image_size: list[int] | None = None) -> dict:
    from lerobot.datasets.factory import resolve_delta_timestamps
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    from lerobot.datasets.sampler import EpisodeAwareSampler
    from lerobot.policies.factory import make_policy, make_pre_post_processors

    t0 = time.perf_counter()
    cfg = lerobot_config(policy, device)
    meta = LeRobotDatasetMetadata('local/robolearn_bench', root=root)
    # LeRobot's ACT has no image-size setting: at another size than recorded, its dataset's own image_transforms
    # hook resizes each decoded frame in the DataLoader workers, as a LeRobot user would
    resize = None
    if image_size:
        from torchvision.transforms import v2
        resize = v2.Resize(list(image_size), antialias=True)
    ds = LeRobotDataset('local/robolearn_bench', root=root, delta_timestamps=resolve_delta_timestamps(cfg, meta),
                        video_backend='pyav', image_transforms=resize)
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


def run_in_child(name: str, args: argparse.Namespace, root: Path | None, batch: int, cuda_graph: str) -> dict:
    """This script for one framework and setting in a new process; its output passes through, its result returned."""
    script = [__file__, '--policy', args.policy, '--device', args.device, '--steps', str(args.steps),
              '--warmup', str(args.warmup), '--batch-size', str(batch), '--workers', str(args.workers),
              '--frameworks', name, '--cuda-graph', cuda_graph, '--source', args.source,
              '--episodes', str(args.episodes), '--frames', str(args.frames), '--cameras', str(args.cameras),
              '--height', str(args.height), '--width', str(args.width), '--data-on-device', args.data_on_device]
    script += ['--dataset', str(root)] if root else []
    script += ['--image-size', f'{args.image_size[0]}x{args.image_size[1]}'] if args.image_size else []
    script += ['--robolearn-src', str(args.robolearn_src)] if args.robolearn_src else []
    script += [a for item in args.set for a in ('--set', item)]
    if name == 'robolearn' and args.nproc > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(args.nproc), *script]
    else:
        cmd = [sys.executable, *script]
    from robolearn_core.training.host_memory import PeakMemory

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    last = ''
    with PeakMemory(proc.pid) as memory:  # the process and its DataLoader workers, summed PSS, sampled from outside
        for line in proc.stdout:
            print(line, end='', flush=True)
            if line.startswith('{'):
                last = line
        proc.wait()
    if proc.returncode != 0 or not last:
        return {'error': f'{name} run exited with {proc.returncode}'}
    return {**json.loads(last).get(name, {'error': 'no result'}), 'peak_host_memory_gb_from_outside': round(memory.peak / 1e9, 3)}


def _sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(',')]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--policy', choices=('act', 'diffusion', 'flow'), required=True,
                        help='policy trained by both (flow: robolearn only)')
    parser.add_argument('--device', default='cuda', help='a CUDA device (LeRobot side needs CUDA)')
    parser.add_argument('--dataset', type=Path, help='an existing LeRobot v3.0 dataset with state 6 and cameras')
    parser.add_argument('--make-dataset', type=Path, metavar='DIR', help='first write a synthetic dataset there')
    parser.add_argument('--writer', choices=('lerobot', 'robolearn'), default='lerobot',
                        help="who writes --make-dataset: LeRobot's writer (two 96x128 cameras, the LeRobot comparison) "
                             "or robolearn's DatasetWriter (--cameras, --height, --width)")
    parser.add_argument('--source', choices=('dataset', 'generated'), default='dataset',
                        help='robolearn reads --dataset, or generated frames in memory (no video decoding)')
    parser.add_argument('--episodes', type=int, default=20, help='episodes of a synthetic dataset')
    parser.add_argument('--frames', type=int, default=300, help='frames per episode of a synthetic dataset')
    parser.add_argument('--cameras', type=int, default=2, help='cameras of a robolearn-written or generated dataset')
    parser.add_argument('--height', type=int, default=96, help='camera height of a robolearn-written or generated dataset')
    parser.add_argument('--width', type=int, default=128, help='camera width of a robolearn-written or generated dataset')
    parser.add_argument('--image-size', type=lambda t: [int(v) for v in t.lower().split('x')], metavar='HxW',
                        help="robolearn's image_size (frames resized at load)")
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                        help="a robolearn policy config field (JSON value), as fit's --set; repeatable")
    parser.add_argument('--steps', type=int, default=200, help='timed training steps per framework')
    parser.add_argument('--warmup', type=int, default=10,
                        help='untimed LeRobot steps first (robolearn leaves out its first 10 steps likewise)')
    parser.add_argument('--batch-size', default='64', help='samples per step (per GPU), both frameworks; a list runs a grid')
    parser.add_argument('--cuda-graph', default='auto', help="robolearn's --cuda-graph: auto, on, off; a list runs a grid")
    parser.add_argument('--data-on-device', default='auto', choices=('auto', 'yes', 'no'), help="robolearn's --data-on-device")
    parser.add_argument('--workers', type=int, default=max(1, min(16, (os.cpu_count() or 2) - 1)),
                        help='DataLoader worker processes, both frameworks')
    parser.add_argument('--nproc', type=int, default=1, help='robolearn on this many GPUs (torchrun, DDP)')
    parser.add_argument('--robolearn-src', type=Path, metavar='DIR', help='import robolearn_core from DIR')
    parser.add_argument('--frameworks', default='robolearn,lerobot', help='comma list: robolearn, lerobot')
    parser.add_argument('--write-only', action='store_true', help='write --make-dataset and stop (e.g. here, to carry '
                        'it to a GPU machine whose PyAV cannot encode AV1)')
    args = parser.parse_args()
    use_robolearn_src(args.robolearn_src)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    root = args.make_dataset or args.dataset
    if root is None and args.source == 'dataset':
        parser.error('give --dataset DIR, --make-dataset DIR or --source generated')
    if args.make_dataset:
        t0 = time.perf_counter()
        if args.writer == 'lerobot':
            make_dataset_with_lerobot(args.make_dataset, args.episodes, args.frames)
        else:
            make_dataset_with_robolearn(args.make_dataset, args.episodes, args.frames, args.height, args.width, args.cameras)
        print(f'bench: wrote {args.episodes}x{args.frames} frames to {root} in {time.perf_counter() - t0:.1f} s', flush=True)
        if args.write_only:
            return 0
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    names = args.frameworks.split(',')
    for name in names:
        if name not in ('robolearn', 'lerobot'):
            parser.error(f'unknown framework {name!r}')
    batches, graphs = _sizes(args.batch_size), args.cuda_graph.split(',')
    result: dict = {'policy': args.policy, 'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu',
                    'batch_size': batches[0] if len(batches) == 1 else batches, 'steps': args.steps,
                    'workers': args.workers, 'dataset': str(root) if root else f'generated {args.episodes}x{args.frames} '
                    f'{args.cameras}x{args.height}x{args.width}', 'nproc': args.nproc}
    if len(batches) > 1 or len(graphs) > 1:  # a grid: robolearn only, each point in a fresh process
        result['grid'] = [{**run_in_child('robolearn', args, root, b, g), 'batch_size': b, 'cuda_graph_option': g}
                          for b in batches for g in graphs]
        for row in result['grid']:
            print(f"bench: batch {row['batch_size']:>4} --cuda-graph {row['cuda_graph_option']:>4} "
                  f"(captured: {row.get('cuda_graph')}): {row.get('samples_per_s')} samples/s, "
                  f"{row.get('ms_per_step')} ms/step", flush=True)
        print(json.dumps(result))
        return 0
    for name in names:
        if len(names) > 1 or (name == 'robolearn' and args.nproc > 1 and 'RANK' not in os.environ):
            result[name] = run_in_child(name, args, root, batches[0], graphs[0])
            continue
        try:
            if name == 'robolearn':
                result['robolearn'] = run_robolearn(args, root, batches[0], graphs[0])
            else:
                result['lerobot'] = run_lerobot(args.policy, root, args.steps, batches[0], args.workers,
                                                args.device, args.warmup, args.image_size)
        except Exception as err:  # report which side failed and why, keep the other's numbers
            import traceback
            traceback.print_exc()
            result[name] = {'error': f'{type(err).__name__}: {err}'}
        if int(os.environ.get('RANK', '0')) == 0:
            print(f'bench: {name}: {json.dumps(result.get(name))}', flush=True)
    rl, le = result.get('robolearn', {}), result.get('lerobot', {})
    if 'samples_per_s' in rl and 'samples_per_s' in le:
        result['ratio'] = round(rl['samples_per_s'] / le['samples_per_s'], 2)
        result['ratio_with_setup'] = round(rl['samples_per_s_with_setup'] / le['samples_per_s_with_setup'], 2)
    if int(os.environ.get('RANK', '0')) == 0:
        print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
