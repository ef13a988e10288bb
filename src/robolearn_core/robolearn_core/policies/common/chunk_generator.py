"""Config fields and network shared by the two generative chunk models (diffusion and flow)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from .base import Policy
from .config import PolicyConfig
from .observation import ObservationEncoder
from .unet1d import ConditionalUnet1D


@dataclasses.dataclass(kw_only=True)
class ChunkGeneratorConfig(PolicyConfig):
    horizon: int = 16
    n_obs_steps: int = 2
    state_norm: str = 'min_max'
    action_norm: str = 'min_max'
    down_dims: tuple[int, ...] = (256, 512, 1024)
    kernel_size: int = 5
    n_groups: int = 8
    time_embed_dim: int = 128
    num_keypoints: int = 32
    image_feature_dim: int = 64
    num_inference_steps: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        self.down_dims = tuple(self.down_dims)
        if not self.down_dims:
            raise ValueError('down_dims must name at least one level')
        factor = 2 ** (len(self.down_dims) - 1)
        if self.horizon % factor:
            raise ValueError(f'horizon ({self.horizon}) must be divisible by 2 ** (len(down_dims) - 1) = {factor}')
        bad = [d for d in self.down_dims if d % self.n_groups]
        if bad:
            raise ValueError(f'down_dims {bad} not divisible by n_groups ({self.n_groups})')
        if self.kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {self.kernel_size}')
        if self.num_inference_steps < 1:
            raise ValueError(f'num_inference_steps must be >= 1, got {self.num_inference_steps}')


class ChunkGeneratorPolicy(Policy):
    """Observation encoder + FiLM U-Net; subclasses define the training target and the sampler."""

    def __init__(self, config: ChunkGeneratorConfig, stats: Mapping[str, Mapping[str, Any]]):
        super().__init__(config, stats)
        self.encoder = ObservationEncoder(config, config.num_keypoints, config.image_feature_dim)
        self.unet = ConditionalUnet1D(config.action_dim, self.encoder.out_per_step * config.n_obs_steps,
                                      config.down_dims, config.time_embed_dim, config.kernel_size, config.n_groups)

    def condition(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        state, images = self.observation_inputs(batch)
        return self.encoder(state, images)

    def batch_size_of(self, batch: Mapping[str, torch.Tensor]) -> int:
        cfg = self.config
        key = cfg.state_key if cfg.uses_state else cfg.camera_keys[0]
        return batch[key].shape[0]
