"""Config fields and network shared by the two generative chunk models (diffusion and flow), and the
guidance both use to continue a prefix for real-time chunking.

Real-time chunking (Black, Galliker, Levine 2025, "Real-Time Execution of Action Chunking Flow Policies",
Algorithm 1, a PiGDM-style guidance): at each sampling step the network's prediction of the final chunk is
compared with the prefix Y (the previous chunk's setpoints still to execute, normalized), and the step gets
the vector-Jacobian product ``(W (Y - clean))^T d clean / dx`` scaled by ``min(beta, (1 - t) / (t r_t^2))``,
``r_t^2 = (1 - t)^2 / (t^2 + (1 - t)^2)``, t the straight path's time (0 noise, 1 data). Why guidance rather than
overwriting the prefix (inpainting): the correction flows through the network's Jacobian into every step of
the chunk, so the free part bends to continue the prefix instead of meeting it with a seam. Measured with
test_policy_guided.py's tiny diffusion policy: inpainting matched the prefix exactly, but where the chunk
left the prefix its largest step reached 3.5x (continuing its own previous chunk) and 5.1x (a prefix from
the other mode) the policy's own largest step, a turn back to its own plan; guidance stayed under 1x (median
0.46x), with a median prefix error of 0.05 against 0.22 unguided. Guidance is soft: a prefix far from what the
policy would do from this observation is followed only partly (beta=5: 19 of 24 flow and 22 of 24 diffusion
chunks switched to a prefix from the other mode). The price is one backward pass per sampling step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .base import Policy
from .config import PolicyConfig
from .observation import ObservationEncoder
from .unet1d import ConditionalUnet1D

#: the paper's clip on the guidance weight (beta): larger follows the prefix more tightly, at the cost of
#: pulling the sample off what the policy learned
MAX_GUIDANCE_WEIGHT = 5.0

#: where sampling starts at inference: 'fresh' draws new noise for every chunk (Chi et al., Black et al.);
#: 'episode' draws it once per episode (at ``reset``) and starts every chunk of the episode from it, so that
#: the chunk is a fixed function of the observation and a rollout repeats; 'zero' starts from the noise's
#: mean. Measured closed loop (docs/closed-loop.md): diffusion from 'zero' 64-74%, 'fresh' 40-44%, 'episode'
#: 12%; a horizon-48 flow from 'zero' 0%, 'fresh' 40%.
INFERENCE_NOISE = ('fresh', 'episode', 'zero')


def guidance_weight(t: float, max_weight: float = MAX_GUIDANCE_WEIGHT) -> float:
    """min(beta, (1 - t) / (t r_t^2)) = min(beta, (t^2 + (1 - t)^2) / (t (1 - t))); beta at t = 0 (and t = 1)."""
    if t <= 0.0 or t >= 1.0:
        return max_weight
    return min(max_weight, (t * t + (1 - t) ** 2) / (t * (1 - t)))


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
    inference_noise: str = 'fresh'  # one of INFERENCE_NOISE

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.inference_noise not in INFERENCE_NOISE:
            raise ValueError(f'inference_noise must be one of {", ".join(INFERENCE_NOISE)}, got {self.inference_noise!r}')
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
        self._episode_noise: torch.Tensor | None = None

    def initial_noise(self, b: int, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
        """(b, horizon, A) start of sampling, as ``inference_noise`` says (training always draws fresh noise)."""
        cfg = self.config
        shape = (b, cfg.horizon, cfg.action_dim)
        if self.training or cfg.inference_noise == 'fresh':
            return torch.randn(shape, device=device, generator=generator)
        if cfg.inference_noise == 'zero':
            return torch.zeros(shape, device=device)
        noise = self._episode_noise
        if noise is None or noise.shape != shape or noise.device != device:
            self._episode_noise = noise = torch.randn(shape, device=device, generator=generator)
        return noise

    def reset(self) -> None:
        """A new episode: also a new draw of the episode's noise, in place (a captured CUDA graph reads that buffer)."""
        super().reset()
        if self._episode_noise is not None:
            self._episode_noise.normal_()

    def condition(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        state, images = self.observation_inputs(batch)
        return self.encoder(state, images)

    def batch_size_of(self, batch: Mapping[str, torch.Tensor]) -> int:
        cfg = self.config
        key = cfg.state_key if cfg.uses_state else cfg.camera_keys[0]
        return batch[key].shape[0]

    def prefix_target(self, prefix: torch.Tensor | np.ndarray, prefix_weights: torch.Tensor | np.ndarray | None, b: int,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The prefix to continue, normalized and padded to the horizon: target (B, horizon, A), weights (1, horizon, 1).

        ``prefix``: (k, A) or (B, k, A) actions in dataset units (k <= horizon); ``prefix_weights``: (k,) in
        [0, 1] (default 1). Steps beyond k get weight 0: the sampler is free there.
        """
        cfg = self.config
        prefix = torch.as_tensor(prefix, dtype=torch.float32, device=device)
        if prefix.dim() == 2:
            prefix = prefix.unsqueeze(0).expand(b, -1, -1)
        k = prefix.shape[1] if prefix.dim() == 3 else 0
        if prefix.dim() != 3 or prefix.shape[0] != b or prefix.shape[2] != cfg.action_dim or not 0 < k <= cfg.horizon:
            raise ValueError(f'prefix must be (k, {cfg.action_dim}) with 0 < k <= {cfg.horizon}, got {tuple(prefix.shape)}')
        weights = torch.ones(k, device=device)
        if prefix_weights is not None:
            weights = torch.as_tensor(prefix_weights, dtype=torch.float32, device=device)
            if weights.shape != (k,) or weights.min() < 0 or weights.max() > 1:
                raise ValueError(f'prefix_weights must be ({k},) values in [0, 1]')
        target = torch.zeros((b, cfg.horizon, cfg.action_dim), device=device)
        target[:, :k] = self.normalizer.normalize(cfg.action_key, prefix)
        padded = torch.zeros((1, cfg.horizon, 1), device=device)
        padded[0, :k, 0] = weights
        return target, padded

    @staticmethod
    def guided(x: torch.Tensor, predict: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
               guide: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(network output, pull): ``predict(x)`` gives the network output and the clean chunk it implies; the
        pull is the vector-Jacobian product (W (Y - clean))^T d clean / dx, with (Y, W) = ``guide``."""
        target, weights = guide
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            output, clean = predict(x)
            error = (weights * (target - clean)).detach()
            (pull,) = torch.autograd.grad(clean, x, grad_outputs=error)
        return output.detach(), pull
