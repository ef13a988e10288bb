"""Noise schedules: DDPM with the squared-cosine betas (Nichol & Dhariwal) and deterministic DDIM steps.

Flow matching needs no schedule beyond the straight path x_t = (1 - t) x0 + t x1 (in the flow policy).
"""

from __future__ import annotations

import math

import torch


def squared_cosine_betas(num_steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Betas whose alpha-bar follows cos^2 ((t/T + s)/(1 + s) * pi/2), s = 0.008 (diffusers' squaredcos_cap_v2)."""

    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta) for i in range(num_steps)]
    return torch.tensor(betas, dtype=torch.float32)


class DDPMSchedule:
    """Training-time forward process q(x_t | x_0) and DDIM inference over a subset of the steps."""

    def __init__(self, num_train_steps: int):
        self.num_train_steps = num_train_steps
        self.betas = squared_cosine_betas(num_train_steps)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self._on_device: dict[torch.device, torch.Tensor] = {}

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # one copy per device, kept: a copy per step would be a host sync, and cannot be captured in a CUDA graph
        table = self._on_device.get(x0.device)
        if table is None:
            table = self._on_device[x0.device] = self.alphas_cumprod.to(x0.device)
        abar = table[t].view(-1, *([1] * (x0.dim() - 1)))
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def ddim_timesteps(self, num_inference_steps: int) -> list[int]:
        """Evenly spaced steps, last to first (e.g. 100 train steps, 10 inference: 90, 80, ..., 0)."""
        stride = self.num_train_steps // num_inference_steps
        return [i * stride for i in reversed(range(num_inference_steps))]

    def flow_time(self, t: int) -> tuple[float, float]:
        """(tau, scale): x_t = scale * x_tau of the straight path x_tau = tau x0 + (1 - tau) noise (t < 0: clean).

        Why: x_t = sqrt(abar) x0 + sqrt(1 - abar) noise is the flow path scaled by sqrt(abar) + sqrt(1 - abar),
        so a DDIM step from t to t_prev is a step of that path from tau to tau_prev, and a guidance term written
        for flow matching's velocity (the RTC paper's) applies to DDIM through this change of variables.
        """
        if t < 0:
            return 1.0, 1.0
        a, n = math.sqrt(self.alphas_cumprod[t].item()), math.sqrt(1 - self.alphas_cumprod[t].item())
        return a / (a + n), a + n

    def ddim_step(self, eps: torch.Tensor, t: int, t_prev: int, x_t: torch.Tensor,
                  clip: float | None = 1.0) -> torch.Tensor:
        """One deterministic DDIM step (eta = 0) from t to t_prev (t_prev < 0 means the clean sample)."""
        abar = self.alphas_cumprod[t].item()
        abar_prev = self.alphas_cumprod[t_prev].item() if t_prev >= 0 else 1.0
        x0 = (x_t - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            eps = (x_t - math.sqrt(abar) * x0) / math.sqrt(1 - abar)
        return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps
