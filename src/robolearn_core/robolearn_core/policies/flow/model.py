"""Flow matching: x_t = (1 - t) x0 + t x1 (x0 noise, x1 the normalized chunk), target velocity x1 - x0.

Sampling integrates dx/dt = v(x, t) from t=0 to 1 with Euler steps. ``prefix`` turns on real-time
chunking as the RTC paper's guided inference (Algorithm 1, see common/chunk_generator.py): the predicted
final chunk is x1_hat = x + (1 - t) v(x, t), and the velocity gets the guidance pull toward the prefix.
"""

from __future__ import annotations

import numpy as np
import torch

from ..common.chunk_generator import MAX_GUIDANCE_WEIGHT, ChunkGeneratorPolicy, guidance_weight
from .config import FlowConfig

_TIME_SCALE = 1000.0  # the U-Net's sinusoidal time embedding expects step-like magnitudes


class FlowPolicy(ChunkGeneratorPolicy):
    config_class = FlowConfig

    def loss(self, batch, generator=None):
        actions, valid = self.normalized_actions(batch)
        cond = self.condition(batch)
        b = actions.shape[0]
        x0 = torch.randn(actions.shape, device=actions.device, generator=generator)
        t = torch.rand((b,), device=actions.device, generator=generator) ** self.config.time_power
        tt = t.view(b, 1, 1)
        xt = (1 - tt) * x0 + tt * actions
        v = self.unet(xt, t * _TIME_SCALE, cond).float()
        loss = (((v - (actions - x0)) ** 2) * valid).sum() / (valid.sum() * actions.shape[-1]).clamp(min=1)
        return loss, {'mse': loss.detach()}

    def sample_normalized(self, batch, generator=None, num_inference_steps: int | None = None,
                          prefix: torch.Tensor | np.ndarray | None = None,
                          prefix_weights: torch.Tensor | np.ndarray | None = None,
                          max_guidance_weight: float = MAX_GUIDANCE_WEIGHT):
        """``prefix``: (k, A) or (B, k, A) actions in dataset units to continue (k <= horizon);
        ``prefix_weights``: (k,) in [0, 1], how strongly each step is pulled toward it (default 1);
        ``max_guidance_weight``: beta, the clip on the guidance weight (larger follows the prefix more tightly)."""
        cfg = self.config
        steps = num_inference_steps or cfg.num_inference_steps
        cond = self.condition(batch)
        b = cond.shape[0]
        x = self.initial_noise(b, cond.device, generator)
        guide = None if prefix is None else self.prefix_target(prefix, prefix_weights, b, cond.device)
        dt = 1.0 / steps
        t_tensor = torch.empty(b, device=cond.device)
        for i in range(steps):
            t = i * dt
            t_tensor.fill_(t * _TIME_SCALE)
            if guide is None:
                v = self.unet(x, t_tensor, cond).float()
            else:
                def predict(x: torch.Tensor, t: float = t) -> tuple[torch.Tensor, torch.Tensor]:
                    v = self.unet(x, t_tensor, cond).float()
                    return v, x + (1 - t) * v
                v, pull = self.guided(x, predict, guide)
                v = v + guidance_weight(t, max_guidance_weight) * pull
            x = x + dt * v
        return x
