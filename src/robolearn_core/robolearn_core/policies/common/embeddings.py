"""Fixed sinusoidal embeddings: diffusion/flow time steps, ACT's token positions (1D and 2D)."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(...,) float positions -> (..., dim) [sin | cos] features (the Transformer's encoding)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    args = positions.float()[..., None] * freqs
    emb = torch.cat([args.sin(), args.cos()], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[..., :1])], dim=-1)
    return emb


class TimeEmbedding(nn.Module):
    """Scalar time (a DDPM step index, or flow time scaled to [0, 1000]) -> a learned feature vector."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.Mish(), nn.Linear(dim * 4, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal(t, self.dim).to(self.mlp[0].weight.dtype))


def sinusoidal_2d(height: int, width: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """(height * width, dim) position encoding of a feature map: half the channels for y, half for x."""
    ys = torch.arange(height, device=device, dtype=torch.float32)
    xs = torch.arange(width, device=device, dtype=torch.float32)
    ey = sinusoidal(ys, dim // 2)[:, None, :].expand(height, width, dim // 2)
    ex = sinusoidal(xs, dim - dim // 2)[None, :, :].expand(height, width, dim - dim // 2)
    return torch.cat([ey, ex], dim=-1).reshape(height * width, dim)
