"""A ResNet-18-style image backbone in plain torch (there is no torchvision here), and spatial softmax.

The module names follow torchvision's resnet18 (conv1, bn1, layer1..4, downsample), so a
torchvision-format weights file loads with :func:`load_backbone_weights`. Normalization layers:
``batch`` (BatchNorm, trained), ``group`` (GroupNorm: Diffusion Policy's choice from scratch, no batch
statistics) or ``frozen_batch`` (ACT's: BatchNorm with the pretrained statistics and affine fixed,
which small batches cannot re-estimate). ``width`` scales the channels (64 is ResNet-18; tests use 8-16).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

#: torchvision's ImageNet resnet18 weights (IMAGENET1K_V1); fetched into the torch hub cache on first use
IMAGENET_RESNET18_URL = 'https://download.pytorch.org/models/resnet18-f37072fd.pth'
_BN_STATS = ('running_mean', 'running_var')


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d with fixed statistics and affine (buffers, not parameters): y = x * scale + shift.

    State-dict names are BatchNorm's (weight, bias, running_mean, running_var), so torchvision weights load.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        for name, value in (('weight', 1.0), ('bias', 0.0), ('running_mean', 0.0), ('running_var', 1.0)):
            self.register_buffer(name, torch.full((channels,), value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.to(x.dtype)[:, None, None] + shift.to(x.dtype)[:, None, None]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    if kind == 'group':
        return nn.GroupNorm(max(1, channels // 16), channels)
    if kind == 'frozen_batch':
        return FrozenBatchNorm2d(channels)
    raise ValueError(f"vision norm must be 'batch', 'group' or 'frozen_batch', not {kind!r}")


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


def read_backbone_weights(source: str | Path) -> dict[str, torch.Tensor]:
    """A torchvision-format resnet18 state dict from a file (.safetensors, or .pt/.pth read with weights_only),
    or ``'imagenet'``: torchvision's ImageNet weights from the torch hub cache, fetched there when online."""
    if str(source) == 'imagenet':
        try:
            return torch.hub.load_state_dict_from_url(IMAGENET_RESNET18_URL, map_location='cpu', check_hash=True,
                                                      weights_only=True)
        except Exception as err:  # noqa: BLE001 - offline, proxy, disk: all say the same thing to the user
            cache = Path(torch.hub.get_dir()) / 'checkpoints'
            raise FileNotFoundError(f'ImageNet resnet18 weights are not in {cache} and could not be fetched '
                                    f'({type(err).__name__}: {err}); download {IMAGENET_RESNET18_URL} into that '
                                    f'folder, or pass the file itself as the pretrained backbone') from err
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f'backbone weights file {path} does not exist; pass a resnet18 state dict '
                                f'(.safetensors or .pth), imagenet, or nothing to train from scratch')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        return load_file(str(path))
    return torch.load(path, map_location='cpu', weights_only=True)


def load_backbone_weights(backbone: ResNet18, source: str | Path | dict[str, torch.Tensor]) -> None:
    """Initialize from torchvision-format resnet18 weights (see :func:`read_backbone_weights`); fc.* is ignored.

    Every layer must get what it holds: BatchNorm weights (with running statistics) into a GroupNorm layer,
    or weights without statistics into a BatchNorm layer, is an error that names the layer.
    """
    state = source if isinstance(source, dict) else read_backbone_weights(source)
    where = 'the given weights' if isinstance(source, dict) else str(source)
    for name, layer in backbone.named_modules():
        has_stats = f'{name}.running_mean' in state
        if isinstance(layer, nn.GroupNorm) and has_stats:
            raise ValueError(f'backbone weights in {where} are BatchNorm (with running statistics) at layer {name}, '
                             f'which is GroupNorm here: set vision_norm=frozen_batch (or batch) to use them')
        if isinstance(layer, (nn.BatchNorm2d, FrozenBatchNorm2d)) and f'{name}.weight' in state and not has_stats:
            raise ValueError(f'backbone weights in {where} have no BatchNorm statistics for layer {name} '
                             f'(GroupNorm weights?): set vision_norm=group to use them')
    own = backbone.state_dict()
    kept = {k: v for k, v in state.items() if k in own}
    bad = [f'{k} {tuple(v.shape)} != {tuple(own[k].shape)}' for k, v in kept.items() if v.shape != own[k].shape]
    if bad:
        raise ValueError(f'backbone weights in {where} do not fit this ResNet-18 (width?): ' + '; '.join(bad[:5]))
    missing = [k for k in own if k not in kept and not k.endswith('num_batches_tracked')]
    if missing:
        raise ValueError(f'backbone weights in {where} lack: {", ".join(missing[:8])}')
    backbone.load_state_dict(kept, strict=False)


def load_pretrained_backbones(model: nn.Module, source: str | Path) -> int:
    """Load ``source`` into every ResNet18 inside ``model`` (read once); returns how many were loaded."""
    backbones = [m for m in model.modules() if isinstance(m, ResNet18)]
    if backbones:
        state = read_backbone_weights(source)
        for backbone in backbones:
            load_backbone_weights(backbone, state)
    return len(backbones)


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
