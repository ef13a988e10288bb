"""MLP policy: observation features -> the whole chunk at once, trained with a masked MSE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..common.base import Policy
from ..common.observation import ObservationEncoder
from .config import MLPConfig


class MLPPolicy(Policy):
    config_class = MLPConfig

    def __init__(self, config: MLPConfig, stats: Mapping[str, Mapping[str, Any]]):
        super().__init__(config, stats)
        self.encoder = ObservationEncoder(config, config.num_keypoints, config.image_feature_dim)
        layers: list[nn.Module] = []
        width = self.encoder.out_per_step * config.n_obs_steps
        for hidden in config.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.horizon * config.action_dim))
        self.head = nn.Sequential(*layers)

    def _predict(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        state, images = self.observation_inputs(batch)
        out = self.head(self.encoder(state, images))
        return out.view(-1, self.config.horizon, self.config.action_dim)

    def loss(self, batch, generator=None):
        target, valid = self.normalized_actions(batch)
        err = (self._predict(batch).float() - target) ** 2 * valid
        loss = err.sum() / (valid.sum() * target.shape[-1]).clamp(min=1)
        return loss, {'mse': loss.detach()}

    def sample_normalized(self, batch, generator=None, **options):
        if options:
            raise TypeError(f'mlp policy takes no sampling options, got {sorted(options)}')
        return self._predict(batch)
