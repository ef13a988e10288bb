"""What happens to a camera frame between the dataset (or the camera) and the vision backbone.

1. ``to_image_size``: the recorded frame -> the config's ``image_size``, the same function when the
   training cache is built and at inference, so a deployed policy sees what it was trained on.
2. ``crop``: Diffusion Policy's augmentation: a random crop per image in training, the centre crop at
   evaluation and inference (so the backbone's input size is fixed).
3. ``color_jitter``: random brightness, contrast and saturation per image, training only.

Every step runs on the tensor's device, batched (N, 3, H, W), with no host synchronization, so it fits
inside a captured CUDA graph.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .config import PolicyConfig


def to_image_size(images: torch.Tensor, hw: tuple[int, int], mode: str) -> torch.Tensor:
    """(N, 3, H, W) uint8 or float -> (N, 3, h, w) of the same dtype; 'resize' is bilinear with antialiasing
    (uint8 rounds back to uint8), 'crop' takes the centre."""
    h, w = hw
    if tuple(images.shape[-2:]) == (h, w):
        return images
    if mode == 'crop':
        return center_crop(images, hw)
    out = F.interpolate(images.float(), size=(h, w), mode='bilinear', antialias=True, align_corners=False)
    if images.dtype == torch.uint8:
        return out.round_().clamp_(0, 255).to(torch.uint8)
    return out.to(images.dtype)


def center_crop(images: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    h, w = hw
    top, left = (images.shape[-2] - h) // 2, (images.shape[-1] - w) // 2
    return images[..., top:top + h, left:left + w]


def random_crop(images: torch.Tensor, hw: tuple[int, int], generator: torch.Generator | None = None) -> torch.Tensor:
    """An independent random (h, w) window of each image of (N, C, H, W), gathered in one indexing op."""
    n, _, height, width = images.shape
    h, w = hw
    device = images.device
    top = torch.randint(0, height - h + 1, (n, 1), device=device, generator=generator)
    left = torch.randint(0, width - w + 1, (n, 1), device=device, generator=generator)
    rows = (top + torch.arange(h, device=device))[:, :, None]   # (N, h, 1)
    cols = (left + torch.arange(w, device=device))[:, None, :]  # (N, 1, w)
    picked = images[torch.arange(n, device=device)[:, None, None], :, rows, cols]  # (N, h, w, C)
    return picked.permute(0, 3, 1, 2)


def color_jitter(images: torch.Tensor, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Float (N, 3, H, W) in [0, 1]: brightness, contrast and saturation each scaled by U(1 - s, 1 + s) per image."""
    n = images.shape[0]

    def factor() -> torch.Tensor:
        u = torch.rand((n, 1, 1, 1), device=images.device, generator=generator)
        return 1.0 + (2.0 * u - 1.0) * strength

    x = images * factor()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor() + mean
    gray = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = (x - gray) * factor() + gray
    return x.clamp(0.0, 1.0)


def prepare_images(images: torch.Tensor, config: PolicyConfig, key: str, training: bool) -> torch.Tensor:
    """(..., 3, H, W) frames as recorded or already at image_size, uint8 or float 0..1 -> float 0..1 at the
    backbone's input size, augmented when ``training``."""
    lead = images.shape[:-3]
    x = images.reshape(-1, *images.shape[-3:])
    x = to_image_size(x, config.loaded_hw(key), config.image_resize)
    crop = config.input_hw(key)
    if tuple(x.shape[-2:]) != crop:
        x = random_crop(x, crop) if training else center_crop(x, crop)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if training and config.color_jitter > 0:
        x = color_jitter(x, config.color_jitter)
    return x.reshape(*lead, *x.shape[1:])
