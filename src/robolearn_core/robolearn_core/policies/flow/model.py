"""Flow matching: x_t = (1 - t) x0 + t x1 (x0 noise, x1 the normalized chunk), target velocity x1 - x0.

Sampling integrates dx/dt = v(x, t) from t=0 to 1 with Euler steps. ``prefix`` turns on guided
inference for real-time chunking: the first k steps of the chunk are held on the path towards a
given prefix (the actions still to execute from the previous chunk), so the new chunk continues them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..common.chunk_generator import ChunkGeneratorPolicy
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
                          prefix_weights: torch.Tensor | np.ndarray | None = None):
        """``prefix``: (k, A) or (B, k, A) actions in dataset units to continue (k <= horizon);
        ``prefix_weights``: (k,) in [0, 1], how strongly each step is held (default 1: exactly)."""
        cfg = self.config
        steps = num_inference_steps or cfg.num_inference_steps
        cond = self.condition(batch)
        b = cond.shape[0]
        x0 = torch.randn((b, cfg.horizon, cfg.action_dim), device=cond.device, generator=generator)
        target = weights = None
        if prefix is not None:
            target, weights = self._guide(prefix, prefix_weights, b, cond.device)
        x = x0
        dt = 1.0 / steps
        t_tensor = torch.empty(b, device=cond.device)
        for i in range(steps):
            t = i * dt
            v = self.unet(x, t_tensor.fill_(t * _TIME_SCALE), cond).float()
            x = x + dt * v
            if target is not None:
                k = target.shape[1]
                t_next = (i + 1) * dt
                on_path = (1 - t_next) * x0[:, :k] + t_next * target
                x = torch.cat([weights * on_path + (1 - weights) * x[:, :k], x[:, k:]], dim=1)
        return x

    def _guide(self, prefix, prefix_weights, b: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        prefix = torch.as_tensor(np.asarray(prefix) if not torch.is_tensor(prefix) else prefix,
                                 dtype=torch.float32, device=device)
        if prefix.dim() == 2:
            prefix = prefix.unsqueeze(0).expand(b, -1, -1)
        k = prefix.shape[1]
        if prefix.shape[0] != b or prefix.shape[2] != cfg.action_dim or not 0 < k <= cfg.horizon:
            raise ValueError(f'prefix must be (k, {cfg.action_dim}) with 0 < k <= {cfg.horizon}, '
                             f'got {tuple(prefix.shape)}')
        target = self.normalizer.normalize(cfg.action_key, prefix)
        if prefix_weights is None:
            weights = torch.ones(k, device=device)
        else:
            weights = torch.as_tensor(np.asarray(prefix_weights) if not torch.is_tensor(prefix_weights)
                                      else prefix_weights, dtype=torch.float32, device=device)
            if weights.shape != (k,) or weights.min() < 0 or weights.max() > 1:
                raise ValueError(f'prefix_weights must be ({k},) values in [0, 1]')
        return target, weights.view(1, k, 1)
