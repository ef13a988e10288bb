"""AdamW over a policy's parameters: the vision backbone's own lr (ACT), no weight decay on biases and norms.

With ``capturable`` (a CUDA-graph training step) each group's lr is a device tensor that ``set_lr`` fills
in place, so the captured step reads the schedule's current value without a host sync or a re-capture.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .settings import TrainSettings


def _is_backbone(name: str) -> bool:
    return name.startswith('backbone.') or '.backbone.' in name


def make_optimizer(model: nn.Module, settings: TrainSettings, device: torch.device,
                   capturable: bool = False) -> torch.optim.AdamW:
    own_backbone_lr = settings.backbone_lr is not None
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:  # (backbone?, no decay?): decaying weights first, as checkpoints before backbone_lr have them
            groups.setdefault((own_backbone_lr and _is_backbone(name), p.dim() < 2), []).append(p)
    param_groups = []
    for (backbone, no_decay), params in sorted(groups.items()):
        decays = not no_decay
        peak = settings.backbone_lr if backbone else settings.lr
        param_groups.append({'params': params, 'weight_decay': settings.weight_decay if decays else 0.0,
                             'peak_lr': peak, 'lr': _lr_value(peak, device, capturable)})
    cuda = device.type == 'cuda'
    return torch.optim.AdamW(param_groups, lr=settings.lr, betas=tuple(settings.adam_betas), fused=cuda,
                             foreach=None if cuda else True, capturable=capturable)


def _lr_value(value: float, device: torch.device, capturable: bool) -> float | torch.Tensor:
    return torch.tensor(value, dtype=torch.float32, device=device) if capturable else value


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Every group's lr = its peak lr x ``factor`` (in place for tensor lrs)."""
    for group in optimizer.param_groups:
        value = group['peak_lr'] * factor
        if torch.is_tensor(group['lr']):
            group['lr'].fill_(value)
        else:
            group['lr'] = value


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load a saved state into an optimizer that may run differently now (eager/graph, CPU/GPU): the saved
    moments and steps are kept, the way of running (fused, capturable, lr type) is the current one's."""
    saved = {'state': state['state'], 'param_groups': [dict(g) for g in state['param_groups']]}
    if len(saved['param_groups']) != len(optimizer.param_groups):
        raise ValueError(f'the saved optimizer has {len(saved["param_groups"])} parameter groups, this run '
                         f'{len(optimizer.param_groups)}: it was saved by a run with other settings')
    for old, now in zip(saved['param_groups'], optimizer.param_groups):
        for key in ('lr', 'capturable', 'fused', 'foreach', 'differentiable', 'peak_lr', 'betas'):
            if key in now:
                old[key] = now[key]
    optimizer.load_state_dict(saved)
