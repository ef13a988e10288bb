"""Several processes (one per GPU) training one policy with PyTorch DDP, started by ``torchrun``.

Why DDP and not a framework: it is PyTorch's own, the checkpoint format stays the same (rank 0 saves the
unwrapped policy), and ``torchrun`` gives the rendezvous for one machine (``--nproc-per-node N``) and for
several (``--nnodes``, ``--rdzv-endpoint``). Each process draws its own batches (seeded by its rank):
``--batch-size`` is per GPU. Every rank validates (same data, same fixed noise, so the same numbers);
only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import distributed as dist
from torch import nn


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device_setting: str) -> tuple[Ranks, torch.device | None]:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); returns the ranks and this process's
    device (None: not distributed, the caller picks)."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world <= 1:
        return Ranks(), None
    ranks = Ranks(int(os.environ['RANK']), world, int(os.environ.get('LOCAL_RANK', '0')))
    use_cuda = device_setting != 'cpu' and torch.cuda.is_available()
    device = torch.device('cuda', ranks.local_rank) if use_cuda else torch.device('cpu')
    if use_cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group('nccl' if use_cuda else 'gloo', device_id=device if use_cuda else None)
    return ranks, device


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()


def any_rank(flag: bool, ranks: Ranks, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on one (a stop request reaches all ranks at the same step)."""
    if not ranks.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def mean_over_ranks(value: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    if ranks.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)  # AVG exists for NCCL only
        value /= ranks.world_size
    return value


class LossModule(nn.Module):
    """``policy.loss`` as a module's forward: what DDP wraps (it synchronizes gradients of forward's graph)."""

    def __init__(self, policy: nn.Module):
        super().__init__()
        self.policy = policy

    def forward(self, batch):
        return self.policy.loss(batch)


def wrap(policy: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """The module the training step calls: DDP over ``LossModule(policy)`` when distributed, else the loss module."""
    module = LossModule(policy)
    if not ranks.distributed:
        return module
    trained_norm_stats = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in policy.modules())
    return nn.parallel.DistributedDataParallel(
        module, device_ids=[device.index] if device.type == 'cuda' else None, broadcast_buffers=trained_norm_stats,
        gradient_as_bucket_view=True)
