"""Configuration of Diffusion Policy (squared-cosine DDPM, 100 train steps, 10 DDIM steps, epsilon target)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..common.chunk_generator import ChunkGeneratorConfig


@dataclasses.dataclass(kw_only=True)
class DiffusionConfig(ChunkGeneratorConfig):
    name: ClassVar[str] = 'diffusion'
    train_defaults: ClassVar[dict[str, Any]] = {
        'steps': 50000, 'batch_size': 64, 'lr': 1e-4, 'weight_decay': 1e-6, 'warmup_steps': 500,
        'schedule': 'cosine', 'grad_clip': 10.0, 'ema_decay': 0.9999}  # Chi et al.'s EMA; their betas: the recipes

    num_train_timesteps: int = 100
    clip_sample: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_train_timesteps < 1:
            raise ValueError(f'num_train_timesteps must be >= 1, got {self.num_train_timesteps}')
        if self.num_inference_steps > self.num_train_timesteps:
            raise ValueError(f'num_inference_steps ({self.num_inference_steps}) cannot exceed '
                             f'num_train_timesteps ({self.num_train_timesteps})')
