"""ACT: image tokens (ResNet feature maps) + state token + latent token -> transformer -> action chunk.

At training time a transformer (the CVAE encoder) reads [CLS, state, action chunk] and gives the
posterior over z; the loss is L1 on the chunk plus ``kl_weight`` * KL(posterior || N(0, I)). At
inference z is 0 or a sample from the prior.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..common.base import Policy
from ..common.embeddings import sinusoidal, sinusoidal_2d
from ..common.vision import ResNet18, backbone_per_camera
from .config import ACTConfig


def _encoder(cfg: ACTConfig, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.dim_feedforward, cfg.dropout,
                                       activation='relu', batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class ACTPolicy(Policy):
    config_class = ACTConfig

    def __init__(self, config: ACTConfig, stats: Mapping[str, Mapping[str, Any]]):
        super().__init__(config, stats)
        d = config.d_model
        if config.camera_keys:
            self.backbone = ResNet18(config.vision_width, config.vision_norm)
            self.image_proj = nn.Conv2d(self.backbone.out_channels, d, 1)
            for key in config.camera_keys:
                fh, fw = ResNet18.feature_size(*config.input_hw(key))
                self.register_buffer(f'pos_{key.replace(".", "__")}', sinusoidal_2d(fh, fw, d), persistent=False)
        if config.uses_state:
            self.state_proj = nn.Linear(config.state_dim, d)
        self.latent_proj = nn.Linear(config.latent_dim, d)
        n_tokens_1d = 2 if config.uses_state else 1
        self.token_pos = nn.Parameter(torch.zeros(n_tokens_1d, d))
        self.encoder = _encoder(config, config.n_encoder_layers)
        dec_layer = nn.TransformerDecoderLayer(d, config.n_heads, config.dim_feedforward, config.dropout,
                                               activation='relu', batch_first=True)
        self.decoder = nn.TransformerDecoder(dec_layer, config.n_decoder_layers)
        self.queries = nn.Parameter(torch.zeros(config.horizon, d))
        nn.init.normal_(self.queries, std=0.02)
        self.action_head = nn.Linear(d, config.action_dim)
        if config.use_vae:
            self.vae_cls = nn.Parameter(torch.zeros(1, d))
            self.vae_action_proj = nn.Linear(config.action_dim, d)
            if config.uses_state:
                self.vae_state_proj = nn.Linear(config.state_dim, d)
            n_vae = config.horizon + (2 if config.uses_state else 1)
            self.register_buffer('vae_pos', sinusoidal(torch.arange(n_vae), d), persistent=False)
            self.vae_encoder = _encoder(config, config.n_vae_encoder_layers)
            self.vae_out = nn.Linear(d, 2 * config.latent_dim)

    def _posterior(self, state: torch.Tensor | None, actions: torch.Tensor, valid: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        b = actions.shape[0]
        tokens = [self.vae_cls.expand(b, 1, -1)]
        if state is not None:
            tokens.append(self.vae_state_proj(state[:, -1:]))
        tokens.append(self.vae_action_proj(actions))
        x = torch.cat(tokens, dim=1) + self.vae_pos
        n_head = x.shape[1] - actions.shape[1]
        pad = torch.cat([torch.zeros(b, n_head, dtype=torch.bool, device=x.device), valid[..., 0] < 0.5], dim=1)
        out = self.vae_out(self.vae_encoder(x, src_key_padding_mask=pad)[:, 0]).float()
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar

    def _decode(self, state: torch.Tensor | None, images: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        tokens = [self.latent_proj(z).unsqueeze(1)]
        if state is not None:
            tokens.append(self.state_proj(state[:, -1]).unsqueeze(1))
        x = torch.cat(tokens, dim=1) + self.token_pos
        parts = [x]
        if cfg.camera_keys:
            maps = backbone_per_camera(self.backbone, {k: images[k][:, -1] for k in cfg.camera_keys}, cfg.camera_keys)
            for key in cfg.camera_keys:
                feat = self.image_proj(maps[key])
                feat = feat.flatten(2).transpose(1, 2) + getattr(self, f'pos_{key.replace(".", "__")}')
                parts.append(feat.to(x.dtype))
        memory = self.encoder(torch.cat(parts, dim=1))
        queries = self.queries.unsqueeze(0).expand(z.shape[0], -1, -1)
        return self.action_head(self.decoder(queries, memory))

    def loss(self, batch, generator=None):
        cfg = self.config
        state, images = self.observation_inputs(batch)
        actions, valid = self.normalized_actions(batch)
        b = actions.shape[0]
        if cfg.use_vae:
            mu, logvar = self._posterior(state, actions, valid)
            eps = torch.randn(mu.shape, device=mu.device, generator=generator)
            z = mu + (0.5 * logvar).exp() * eps
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(-1).mean()
        else:
            z = torch.zeros(b, cfg.latent_dim, device=actions.device)
            kl = torch.zeros((), device=actions.device)
        pred = self._decode(state, images, z).float()
        l1 = (F.l1_loss(pred, actions, reduction='none') * valid).sum() / (valid.sum() * actions.shape[-1]).clamp(min=1)
        loss = l1 + cfg.kl_weight * kl
        return loss, {'l1': l1.detach(), 'kl': kl.detach()}

    def sample_normalized(self, batch, generator=None, latent: str | None = None):
        cfg = self.config
        state, images = self.observation_inputs(batch)
        b = (state if state is not None else next(iter(images.values()))).shape[0]
        latent = latent or cfg.inference_latent
        if latent == 'prior':
            z = torch.randn(b, cfg.latent_dim, device=self.device, generator=generator)
        elif latent == 'zero':
            z = torch.zeros(b, cfg.latent_dim, device=self.device)
        else:
            raise ValueError(f"latent must be 'zero' or 'prior', got {latent!r}")
        return self._decode(state, images, z)
