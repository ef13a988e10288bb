"""1D temporal U-Net with FiLM conditioning (Chi et al. 2023), shared by the diffusion and flow policies.

The action chunk (B, horizon, action_dim) is convolved along time; every residual block gets a
per-channel scale and bias computed from [time embedding, observation features].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .embeddings import TimeEmbedding


class TemporalConv(nn.Conv1d):
    """A same-padded Conv1d that, at inference (no grad), runs as unfold + one matrix product.

    Why: chunks are short (T <= ~64), so at batch 1 a temporal conv is a thin GEMM; cuDNN first
    converts every weight to NHWC (as long as the conv itself), while the (Cout, Cin * K) view of the
    weight feeds cuBLAS directly. Same parameters and results as nn.Conv1d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or self.stride != (1,) or self.dilation != (1,) or self.groups != 1:
            return super().forward(x)
        k = self.kernel_size[0]
        cols = F.pad(x, (self.padding[0], self.padding[0])).unfold(2, k, 1)  # (B, Cin, T, K)
        cols = cols.permute(0, 2, 1, 3).reshape(x.shape[0], -1, x.shape[1] * k)  # (B, T, Cin * K)
        return F.linear(cols, self.weight.view(self.out_channels, -1), self.bias).transpose(1, 2)


class Conv1dBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, groups: int):
        super().__init__(TemporalConv(cin, cout, kernel, padding=kernel // 2), nn.GroupNorm(groups, cout), nn.Mish())


class FiLMResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, cond_dim: int, kernel: int, groups: int):
        super().__init__()
        self.block1 = Conv1dBlock(cin, cout, kernel, groups)
        self.block2 = Conv1dBlock(cout, cout, kernel, groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * cout))
        self.skip = TemporalConv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        out = self.block1(x)
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        out = self.block2(out * scale + bias)
        return out + self.skip(x)


class ConditionalUnet1D(nn.Module):
    """(B, T, A) noisy chunk, (B,) time, (B, cond_dim) observation features -> (B, T, A).

    T must be divisible by 2 ** (len(down_dims) - 1) (checked by the policy configs).
    """

    def __init__(self, action_dim: int, cond_dim: int, down_dims: tuple[int, ...] = (256, 512, 1024),
                 time_dim: int = 128, kernel: int = 5, groups: int = 8):
        super().__init__()
        self.time_embedding = TimeEmbedding(time_dim)
        film_dim = time_dim + cond_dim
        dims = [action_dim, *down_dims]
        self.down = nn.ModuleList()
        for i, (cin, cout) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == len(down_dims) - 1
            self.down.append(nn.ModuleList([
                FiLMResidualBlock(cin, cout, film_dim, kernel, groups),
                FiLMResidualBlock(cout, cout, film_dim, kernel, groups),
                nn.Conv1d(cout, cout, 3, 2, 1) if not last else nn.Identity()]))
        mid = down_dims[-1]
        self.mid = nn.ModuleList([FiLMResidualBlock(mid, mid, film_dim, kernel, groups),
                                  FiLMResidualBlock(mid, mid, film_dim, kernel, groups)])
        self.up = nn.ModuleList()
        rev = list(reversed(down_dims))
        for cin, cout in zip(rev[:-1], rev[1:]):
            self.up.append(nn.ModuleList([
                FiLMResidualBlock(2 * cin, cout, film_dim, kernel, groups),
                FiLMResidualBlock(cout, cout, film_dim, kernel, groups),
                nn.ConvTranspose1d(cout, cout, 4, 2, 1)]))
        self.final = nn.Sequential(Conv1dBlock(down_dims[0], down_dims[0], kernel, groups),
                                   TemporalConv(down_dims[0], action_dim, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        film = torch.cat([self.time_embedding(t), cond], dim=-1)
        h = x.transpose(1, 2)
        skips = []
        for res1, res2, downsample in self.down:
            h = res2(res1(h, film), film)
            skips.append(h)
            h = downsample(h)
        for block in self.mid:
            h = block(h, film)
        for res1, res2, upsample in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = upsample(res2(res1(h, film), film))
        return self.final(h).transpose(1, 2)
