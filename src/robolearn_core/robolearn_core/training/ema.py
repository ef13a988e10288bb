"""Exponential moving average of a policy's weights (Diffusion Policy's EMAModel schedule).

Why: Chi et al. evaluate and deploy the EMA of the weights; the raw weights of a diffusion model at any
one step are noisier. The decay warms up as 1 - (1 + step) ** -0.75, capped at ``max_decay`` (0.9999),
so early on the average follows the model closely. The averaged copy is a whole policy: validation and
the checkpoints' ``best``/``last`` use it; the raw weights live on in the training state for resuming.
"""

from __future__ import annotations

import copy

import torch

from ..policies.common.base import Policy

POWER = 0.75


def ema_decay(step: int, max_decay: float) -> float:
    """The decay after ``step`` optimizer steps (0 at the first: the average starts as the weights)."""
    return min(max_decay, max(0.0, 1.0 - (1.0 + step) ** -POWER))


class WeightAverage:
    """``averaged`` is a copy of ``policy`` that follows its weights; buffers (BatchNorm statistics) are copied."""

    def __init__(self, policy: Policy, max_decay: float):
        self.max_decay = max_decay
        self.averaged = copy.deepcopy(policy).eval().requires_grad_(False)
        self._pairs = [(a, p) for a, p in zip(self.averaged.parameters(), policy.parameters())]
        self._float_params = [a for a, p in self._pairs if a.is_floating_point()]
        self._sources = [p.detach() for a, p in self._pairs if a.is_floating_point()]  # views: follow in-place updates
        self._buffers = list(zip(self.averaged.buffers(), policy.buffers()))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold in the weights after optimizer step ``step`` (0-based): a few fused kernels, no host sync."""
        weight = 1.0 - ema_decay(step, self.max_decay)
        torch._foreach_lerp_(self._float_params, self._sources, weight)
        for mine, theirs in self._buffers:
            mine.copy_(theirs)
