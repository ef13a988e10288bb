"""Diffusion Policy: learn to predict the noise added to a normalized chunk; denoise with DDIM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..common.chunk_generator import ChunkGeneratorPolicy
from ..common.schedules import DDPMSchedule
from .config import DiffusionConfig


class DiffusionPolicy(ChunkGeneratorPolicy):
    config_class = DiffusionConfig

    def __init__(self, config: DiffusionConfig, stats: Mapping[str, Mapping[str, Any]]):
        super().__init__(config, stats)
        self.schedule = DDPMSchedule(config.num_train_timesteps)

    def loss(self, batch, generator=None):
        actions, valid = self.normalized_actions(batch)
        cond = self.condition(batch)
        b = actions.shape[0]
        noise = torch.randn(actions.shape, device=actions.device, generator=generator)
        t = torch.randint(0, self.config.num_train_timesteps, (b,), device=actions.device, generator=generator)
        noisy = self.schedule.add_noise(actions, noise, t)
        eps = self.unet(noisy, t, cond).float()
        loss = (((eps - noise) ** 2) * valid).sum() / (valid.sum() * actions.shape[-1]).clamp(min=1)
        return loss, {'mse': loss.detach()}

    def sample_normalized(self, batch, generator=None, num_inference_steps: int | None = None):
        cfg = self.config
        steps = num_inference_steps or cfg.num_inference_steps
        cond = self.condition(batch)
        b = cond.shape[0]
        x = torch.randn((b, cfg.horizon, cfg.action_dim), device=cond.device, generator=generator)
        timesteps = self.schedule.ddim_timesteps(steps)
        t_tensor = torch.empty(b, device=cond.device, dtype=torch.long)
        for i, t in enumerate(timesteps):
            t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            eps = self.unet(x, t_tensor.fill_(t), cond).float()
            x = self.schedule.ddim_step(eps, t, t_prev, x, clip=cfg.clip_sample)
        return x
