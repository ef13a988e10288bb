"""Diffusion Policy: learn to predict the noise added to a normalized chunk; denoise with DDIM.

``prefix`` turns on real-time chunking as guided DDIM continuation, the same guidance as the flow
policy's (the RTC paper's Algorithm 1, see common/chunk_generator.py) on the predicted clean chunk
x0_hat = (x_t - sqrt(1 - abar) eps) / sqrt(abar), carried over to DDIM by the change of variables
between x_t and the straight path (DDPMSchedule.flow_time). Chosen over inpainting the prefix into
x0_hat at each step, which is exact at the prefix and costs no backward pass, because inpainting leaves
a seam: the free part, committed early to its own plan, turns back to it right after the prefix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..common.chunk_generator import MAX_GUIDANCE_WEIGHT, ChunkGeneratorPolicy, guidance_weight
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

    def sample_normalized(self, batch, generator=None, num_inference_steps: int | None = None,
                          prefix: torch.Tensor | np.ndarray | None = None,
                          prefix_weights: torch.Tensor | np.ndarray | None = None,
                          max_guidance_weight: float = MAX_GUIDANCE_WEIGHT):
        """``prefix``: (k, A) or (B, k, A) actions in dataset units to continue (k <= horizon);
        ``prefix_weights``: (k,) in [0, 1], how strongly each step is pulled toward it (default 1);
        ``max_guidance_weight``: beta, the clip on the guidance weight."""
        cfg = self.config
        steps = num_inference_steps or cfg.num_inference_steps
        cond = self.condition(batch)
        b = cond.shape[0]
        x = self.initial_noise(b, cond.device, generator)
        guide = None if prefix is None else self.prefix_target(prefix, prefix_weights, b, cond.device)
        timesteps = self.schedule.ddim_timesteps(steps)
        t_tensor = torch.empty(b, device=cond.device, dtype=torch.long)
        for i, t in enumerate(timesteps):
            t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            t_tensor.fill_(t)
            if guide is None:
                eps = self.unet(x, t_tensor, cond).float()
                x = self.schedule.ddim_step(eps, t, t_prev, x, clip=cfg.clip_sample)
                continue
            abar = self.schedule.alphas_cumprod[t].item()

            def predict(x: torch.Tensor, abar: float = abar) -> tuple[torch.Tensor, torch.Tensor]:
                eps = self.unet(x, t_tensor, cond).float()
                return eps, (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
            eps, pull = self.guided(x, predict, guide)
            # the flow policy's velocity term over this step's stretch of the straight path, back in x_t units
            (tau, scale), (tau_prev, scale_prev) = self.schedule.flow_time(t), self.schedule.flow_time(t_prev)
            shift = scale_prev * (tau_prev - tau) * guidance_weight(tau, max_guidance_weight) * scale
            x = self.schedule.ddim_step(eps, t, t_prev, x, clip=cfg.clip_sample) + shift * pull
        return x
