"""Test support: tiny configurations of the real policy classes, for CPU tests (seconds, not hours).

``STATE_ONLY`` drops the cameras; ``WITH_IMAGES`` keeps them with a narrow ResNet-18 (width 8).
Use them as ``fit(..., policy_overrides=STATE_ONLY['act'])`` or ``fit --set`` one field at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
