"""Test support: tiny configurations of the real policy classes, for CPU tests (seconds, not hours), and
session fixtures with a tiny trained SO-arm checkpoint for the deployment nodes' tests.

``STATE_ONLY`` drops the cameras; ``WITH_IMAGES`` keeps them with a narrow ResNet-18 (width 8).
Use them as ``fit(..., policy_overrides=STATE_ONLY['act'])`` or ``fit --set`` one field at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

STATE_ONLY: dict[str, dict[str, Any]] = {
    'mlp': {'camera_keys': [], 'hidden_dims': [128, 128]},
    'act': {'camera_keys': [], 'horizon': 16, 'd_model': 64, 'n_heads': 4, 'dim_feedforward': 128, 'n_encoder_layers': 2,
            'n_vae_encoder_layers': 2, 'latent_dim': 8, 'dropout': 0.0},
    'diffusion': {'camera_keys': [], 'down_dims': [32, 64], 'time_embed_dim': 32, 'n_obs_steps': 1},
    'flow': {'camera_keys': [], 'down_dims': [32, 64], 'time_embed_dim': 32, 'n_obs_steps': 1},
}

WITH_IMAGES: dict[str, dict[str, Any]] = {
    'mlp': {'vision_width': 8, 'hidden_dims': [128, 128], 'horizon': 8, 'num_keypoints': 8, 'image_feature_dim': 16},
    'act': {'vision_width': 8, 'd_model': 32, 'n_heads': 4, 'dim_feedforward': 64, 'n_encoder_layers': 1,
            'n_vae_encoder_layers': 1, 'latent_dim': 4, 'dropout': 0.0, 'horizon': 8},
    'diffusion': {'vision_width': 8, 'down_dims': [32, 64], 'time_embed_dim': 32, 'horizon': 8,
                  'num_keypoints': 8, 'image_feature_dim': 16},
    'flow': {'vision_width': 8, 'down_dims': [32, 64], 'time_embed_dim': 32, 'horizon': 8,
             'num_keypoints': 8, 'image_feature_dim': 16},
}


def quick_settings(output_dir: str | Path, steps: int, **overrides: Any):
    """TrainSettings for a short CPU run: fixed lr 1e-3 with cosine decay, no worker processes, no progress bar."""
    from robolearn_core.training.trainer import TrainSettings

    values: dict[str, Any] = dict(output_dir=str(output_dir), steps=steps, batch_size=64, lr=1e-3, warmup_steps=20,
                                  schedule='cosine', weight_decay=0.0, device='cpu', workers=0, val_every=steps,
                                  save_every=steps, log_every=max(1, steps // 10), progress=False, seed=0)
    values.update(overrides)
    return TrainSettings(**values)


def so_checkpoint(output_dir: str | Path, policy: str = 'flow', steps: int = 150, camera_hw: tuple[int, int] = (24, 32),
                  **overrides: Any) -> Path:
    """A checkpoint of a tiny policy trained on a synthetic SO-arm dataset (LeRobot SO units, one camera ``cam0``),
    carrying the deployment metadata a policy node needs. Seconds on one CPU thread."""
    import torch

    from robolearn_core.dataset.synthetic import rotating_arm_dataset
    from robolearn_core.so_arm.frame_schema import POSITION_NAMES
    from robolearn_core.training.trainer import fit

    source = rotating_arm_dataset(num_episodes=4, length=40, cameras=1, image_hw=camera_hw)
    for key in ('observation.state', 'action'):
        source.features[key]['names'] = list(POSITION_NAMES)
    source.info = {'robot_type': 'so101_follower'}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = fit(source, policy, quick_settings(output_dir, steps), {**WITH_IMAGES[policy], **overrides})
    finally:
        torch.set_num_threads(threads)
    return Path(summary['last_checkpoint'])


@pytest.fixture(scope='session')
def so_flow_checkpoint(tmp_path_factory) -> Path:
    """A tiny flow policy for an SO arm with one 24x32 camera ``cam0``, trained once per test session."""
    return so_checkpoint(tmp_path_factory.mktemp('so_flow'), 'flow')


@pytest.fixture(scope='session')
def so_act_pair(tmp_path_factory) -> list[Path]:
    """Two tiny ACTs of one recipe that learned different amounts (30 and 90 steps): an ensemble's members."""
    return [so_checkpoint(tmp_path_factory.mktemp(f'so_act{steps}'), 'act', steps=steps) for steps in (30, 90)]


@pytest.fixture(scope='session')
def so_calibration(tmp_path_factory) -> Path:
    """The calibration of a simulated SO arm (robolearn_core.feetech.sim_bus), as a file."""
    from robolearn_core.feetech.sim_bus import matching_calibration

    path = tmp_path_factory.mktemp('calibration') / 'follower.json'
    matching_calibration().save(path)
    return path
