"""Observation features shared by the mlp, diffusion and flow policies: state + per-camera keypoints."""

from __future__ import annotations

import torch
from torch import nn

from .config import PolicyConfig
from .vision import ResNet18, SpatialSoftmax, backbone_per_camera


class ObservationEncoder(nn.Module):
    """(B, T, S) normalized state and {camera: (B, T, 3, H, W) normalized image} -> (B, T * out_per_step).

    One backbone shared by all cameras; each camera has its own spatial-softmax head (Diffusion
    Policy's encoder; its random crop is the config's ``crop_ratio``, applied before this).
    """

    def __init__(self, config: PolicyConfig, num_keypoints: int = 32, image_feature_dim: int = 64):
        super().__init__()
        self.state_key = config.state_key
        self.camera_keys = list(config.camera_keys or [])
        self.out_per_step = config.state_dim + len(self.camera_keys) * image_feature_dim
        if self.camera_keys:
            self.backbone = ResNet18(config.vision_width, config.vision_norm)
            self.heads = nn.ModuleDict()
            for key in self.camera_keys:
                fh, fw = ResNet18.feature_size(*config.input_hw(key))
                self.heads[key.replace('.', '__')] = nn.Sequential(
                    SpatialSoftmax(self.backbone.out_channels, fh, fw, num_keypoints),
                    nn.Linear(2 * num_keypoints, image_feature_dim), nn.ReLU())

    def forward(self, state: torch.Tensor | None, images: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = []
        if state is not None:
            parts.append(state)
        if self.camera_keys:
            b, t = images[self.camera_keys[0]].shape[:2]
            maps = backbone_per_camera(self.backbone, {k: images[k].flatten(0, 1) for k in self.camera_keys},
                                       self.camera_keys)
            for key in self.camera_keys:
                feats = self.heads[key.replace('.', '__')](maps[key])
                parts.append(feats.view(b, t, -1).to(state.dtype if state is not None else feats.dtype))
        return torch.cat(parts, dim=-1).flatten(1)
