"""Configuration of ACT (defaults from the paper: chunk 100, kl_weight 10, 4 encoder layers, d_model 512)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..common.config import PolicyConfig


@dataclasses.dataclass(kw_only=True)
class ACTConfig(PolicyConfig):
    name: ClassVar[str] = 'act'
    train_defaults: ClassVar[dict[str, Any]] = {
        'steps': 50000, 'batch_size': 16, 'lr': 1e-4, 'weight_decay': 1e-4, 'warmup_steps': 500,
        'schedule': 'cosine', 'grad_clip': 10.0}

    horizon: int = 100
    vision_norm: str = 'batch'
    d_model: int = 512
    n_heads: int = 8
    dim_feedforward: int = 3200
    n_encoder_layers: int = 4
    n_decoder_layers: int = 1
    n_vae_encoder_layers: int = 4
    latent_dim: int = 32
    dropout: float = 0.1
    kl_weight: float = 10.0
    use_vae: bool = True
    #: z at inference: 'zero' (the prior's mean, ACT's choice) or 'prior' (a sample from N(0, I))
    inference_latent: str = 'zero'

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_obs_steps != 1:
            raise ValueError(f'ACT conditions on the current observation only: n_obs_steps must be 1, got {self.n_obs_steps}')
        if self.d_model % self.n_heads:
            raise ValueError(f'd_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})')
        if min(self.n_encoder_layers, self.n_decoder_layers) < 1 or (self.use_vae and self.n_vae_encoder_layers < 1):
            raise ValueError('ACT needs at least one encoder, decoder and (with use_vae) VAE-encoder layer')
        if self.latent_dim < 1:
            raise ValueError(f'latent_dim must be >= 1, got {self.latent_dim}')
        if self.kl_weight < 0:
            raise ValueError(f'kl_weight must be >= 0, got {self.kl_weight}')
        if not 0 <= self.dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {self.dropout}')
        if self.inference_latent not in ('zero', 'prior'):
            raise ValueError(f"inference_latent must be 'zero' or 'prior', got {self.inference_latent!r}")
