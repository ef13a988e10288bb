#!/usr/bin/env python3
"""Offline chunk error of a robolearn checkpoint on held-out episodes: the robolearn half of the LeRobot comparison.

    scripts/with-env python bench/offline_chunk_error.py --checkpoint runs/act/checkpoints/best --dataset DS
    python3 bench/offline_chunk_error.py ...      # on the GPU machine, src/robolearn_core put on sys.path here

For every evaluated frame t of the held-out episodes, load_policy(checkpoint).predict_chunk on the observation
at t (with the n_obs_steps - 1 frames before it, 1/fps apart, clamped at the episode start, as fit trains);
row i of the chunk against the recorded action at t + i, rows past the episode's end left out. The mean
absolute error in dataset units over the first k rows, overall and per joint (bench/lerobot_peer/chunk_metric.py,
the same code as `bench/lerobot_act.py offline` runs for a LeRobot checkpoint). Frames are read with
robolearn's DatasetReader. Held-out episodes: --episodes, else the checkpoint's own validation split
(training_state.pt, as fit wrote it), else fit's rule (10%, seeded with --holdout-seed). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'src' / 'robolearn_core'))
sys.path.insert(0, str(ROOT / 'bench' / 'lerobot_peer'))
from chunk_metric import DEFAULT_KS, ChunkErrorAccumulator, holdout_episodes, parse_episodes  # noqa: E402

from robolearn_core.dataset.reader import DatasetReader  # noqa: E402
from robolearn_core.policies import PolicyConfig, load_policy  # noqa: E402


def add_held_out_arguments(parser: argparse.ArgumentParser) -> None:
    """--checkpoint, --dataset and the held-out episodes' choice, as held_out reads them."""
    parser.add_argument('--checkpoint', required=True, help='a robolearn checkpoint directory')
    parser.add_argument('--dataset', required=True, help='the LeRobot v3.0 dataset it was trained on')
    parser.add_argument('--episodes', default=None, help="held-out episodes '3,17,40-44' (default: the checkpoint's)")
    parser.add_argument('--holdout-seed', type=int, default=0, help="fit's --seed, for the fallback rule")


def observation_deltas(cfg: PolicyConfig, fps: float) -> dict[str, list[float]]:
    """delta_timestamps of the observation keys: n_obs_steps frames 1/fps apart, the newest last (none for one)."""
    if cfg.n_obs_steps == 1:
        return {}
    history = [(i - cfg.n_obs_steps + 1) / fps for i in range(cfg.n_obs_steps)]
    return {k: history for k in observation_keys(cfg)}


def observation_keys(cfg: PolicyConfig) -> list[str]:
    return ([cfg.state_key] if cfg.uses_state else []) + list(cfg.camera_keys or [])


def observation_frames(item: dict, cfg: PolicyConfig) -> list[dict]:
    """The n_obs_steps observations of a reader item read with observation_deltas, oldest first (predict_chunk's order)."""
    keys = observation_keys(cfg)
    if cfg.n_obs_steps == 1:
        return [{k: item[k] for k in keys}]
    return [{k: item[k][j] for k in keys} for j in range(cfg.n_obs_steps)]


def held_out(args: argparse.Namespace, n_episodes: int) -> tuple[list[int], str]:
    if args.episodes:
        return parse_episodes(args.episodes), '--episodes'
    state = Path(args.checkpoint) / 'training_state.pt'
    if state.is_file():
        split = torch.load(state, map_location='cpu', weights_only=True).get('split') or {}
        if split.get('val'):
            return sorted(int(e) for e in split['val']), 'training_state.pt'
    return holdout_episodes(list(range(n_episodes)), -1, args.holdout_seed), f'fit rule, seed {args.holdout_seed}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_held_out_arguments(parser)
    parser.add_argument('--k', type=int, nargs='+', default=list(DEFAULT_KS), help='first k rows of each chunk')
    parser.add_argument('--stride', type=int, default=1, help='every n-th frame')
    parser.add_argument('--max-frames', type=int, default=0)
    parser.add_argument('--device', default=None)
    parser.add_argument('--seed', type=int, default=0, help='torch seed (prior samples, diffusion/flow noise)')
    parser.add_argument('--blank-cameras', action='store_true',
                        help='every camera frame mid-grey: what the policy predicts from the state alone (a small rise '
                             'in error says the state history, not the cameras, carries the prediction)')
    args = parser.parse_args()

    t0 = time.perf_counter()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(args.seed)
    policy = load_policy(args.checkpoint, device)
    cfg = policy.config
    probe = DatasetReader(args.dataset)
    episodes, source = held_out(args, probe.num_episodes)
    fps = probe.fps
    deltas = {cfg.action_key: [i / fps for i in range(cfg.horizon)], **observation_deltas(cfg, fps)}
    reader = DatasetReader(args.dataset, episodes=episodes, delta_timestamps=deltas)
    indices = list(range(0, len(reader), args.stride))
    if args.max_frames:
        indices = indices[:args.max_frames]
    acc = ChunkErrorAccumulator(tuple(args.k), probe.features[cfg.action_key].get('names'))
    for i in indices:
        item = reader[i]
        frames = observation_frames(item, cfg)
        if args.blank_cameras:  # the reader's frames are float 0..1
            frames = [{k: v if k == cfg.state_key else np.full_like(v, 0.5) for k, v in f.items()} for f in frames]
        chunk = policy.predict_chunk(observation_frames=frames)
        acc.add(chunk, item[cfg.action_key], ~np.asarray(item[f'{cfg.action_key}_is_pad']))
    print(json.dumps({'framework': 'robolearn', 'policy': cfg.name, 'checkpoint': args.checkpoint, 'dataset': args.dataset,
                      'episodes': episodes, 'episodes_from': source, 'stride': args.stride,
                      'blank_cameras': args.blank_cameras, **acc.result(),
                      'device': device, 'wall_s': round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
