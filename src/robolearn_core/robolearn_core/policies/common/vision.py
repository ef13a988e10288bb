"""A ResNet-18-style image backbone in plain torch (there is no torchvision here), and spatial softmax.

The module names follow torchvision's resnet18 (conv1, bn1, layer1..4, downsample), so a local
torchvision-format weights file loads with :func:`load_backbone_weights`. ``norm='group'`` swaps
BatchNorm for GroupNorm (Diffusion Policy's choice: no batch statistics, same train/eval behaviour);
``width`` scales the channels (64 is ResNet-18; tests use 8-16).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    if kind == 'group':
        return nn.GroupNorm(max(1, channels // 16), channels)
    raise ValueError(f"vision norm must be 'batch' or 'group', not {kind!r}")


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _norm(norm, cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _norm(norm, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity, inplace=True)


class ResNet18(nn.Module):
    """(B, 3, H, W) -> (B, 8 * width, ceil(H / 32), ceil(W / 32)) feature map."""

    def __init__(self, width: int = 64, norm: str = 'group'):
        super().__init__()
        self.out_channels = 8 * width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = _norm(norm, width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [width, 2 * width, 4 * width, 8 * width]
        cin = width
        for i, cout in enumerate(chans):
            stride = 1 if i == 0 else 2
            setattr(self, f'layer{i + 1}', nn.Sequential(BasicBlock(cin, cout, stride, norm),
                                                         BasicBlock(cout, cout, 1, norm)))
            cin = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    @staticmethod
    def feature_size(height: int, width: int) -> tuple[int, int]:
        """Spatial size of the output map for an input of (height, width)."""
        def down(n: int, k: int, s: int, p: int) -> int:
            return (n + 2 * p - k) // s + 1
        h, w = down(height, 7, 2, 3), down(width, 7, 2, 3)
        h, w = down(h, 3, 2, 1), down(w, 3, 2, 1)
        for _ in range(3):
            h, w = down(h, 3, 2, 1), down(w, 3, 2, 1)
        return h, w


def load_backbone_weights(backbone: ResNet18, path: str | Path) -> None:
    """Initialize from a torchvision-format resnet18 state dict (.safetensors or .pt/.pth); fc.* is ignored.

    GroupNorm backbones take the affine weights and skip BatchNorm's running statistics.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'backbone weights file {path} does not exist; pass a resnet18 state dict '
                                f'(.safetensors or .pth) or leave pretrained_backbone empty to train from scratch')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        state = load_file(str(path))
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
    own = backbone.state_dict()
    kept = {k: v for k, v in state.items() if k in own}
    bad = [f'{k} {tuple(v.shape)} != {tuple(own[k].shape)}' for k, v in kept.items() if v.shape != own[k].shape]
    if bad:
        raise ValueError(f'backbone weights in {path} do not fit this ResNet-18 (width?): ' + '; '.join(bad[:5]))
    missing = [k for k in own if k not in kept and not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
    if missing:
        raise ValueError(f'backbone weights in {path} lack: {", ".join(missing[:8])}')
    backbone.load_state_dict(kept, strict=False)


class SpatialSoftmax(nn.Module):
    """Feature map -> expected (x, y) image coordinates of ``num_keypoints`` learned keypoints (Levine et al.)."""

    def __init__(self, channels: int, height: int, width: int, num_keypoints: int):
        super().__init__()
        self.keypoints = nn.Conv2d(channels, num_keypoints, 1)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing='ij')
        self.register_buffer('grid', torch.stack([xs.flatten(), ys.flatten()], dim=-1), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        maps = self.keypoints(features).flatten(2)  # (B, K, H*W)
        attention = maps.float().softmax(dim=-1)
        return (attention @ self.grid.float()).to(features.dtype).flatten(1)  # (B, 2K)


def backbone_per_camera(backbone: nn.Module, images: dict[str, torch.Tensor], keys: list[str]) -> dict[str, torch.Tensor]:
    """Run ``backbone`` over (N, 3, H, W) images of several cameras, one pass per distinct image size.

    Why: at batch 1 the backbone's cost is kernel launches, so cameras of one size share a pass.
    """
    groups: dict[tuple[int, ...], list[str]] = {}
    for key in keys:
        groups.setdefault(tuple(images[key].shape[1:]), []).append(key)
    out = {}
    for group in groups.values():
        feats = backbone(torch.cat([images[k] for k in group], dim=0)) if len(group) > 1 else backbone(images[group[0]])
        for key, part in zip(group, feats.chunk(len(group), dim=0)):
            out[key] = part
    return out
