"""Training batches gathered on the host by DataLoader workers, for a table that stays off the GPU.

Why: when the frame table does not fit on the GPU (or ``--data-on-device no``), each batch's frames are
read from the on-disk cache (``frame_cache.CameraFrames``) in worker processes, pinned, and copied to
the device without blocking. The main process draws the frame indices from a seeded generator, so the
batches do not depend on the number of workers. Memory held: the batches in flight, bounded by
``IN_FLIGHT_BYTES`` (fewer workers or less prefetching when batches are large).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .frame_cache import ignore_sigint_in_worker
from .frame_table import FrameTable

#: bytes of batches the workers may hold ready (prefetch) at once
IN_FLIGHT_BYTES = 2 << 30


class _RandomFrames(Sampler):
    """An endless stream of (batch_size,) frame-index tensors drawn uniformly from ``frames``."""

    def __init__(self, frames: torch.Tensor, batch_size: int, seed: int):
        self.frames, self.batch_size, self.seed = frames.cpu(), batch_size, seed

    def __iter__(self) -> Iterator[torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            yield self.frames[torch.randint(len(self.frames), (self.batch_size,), generator=generator)]


class _TableBatches(Dataset):
    def __init__(self, table: FrameTable, obs_keys: Sequence[str], n_obs_steps: int, action_key: str, horizon: int):
        self.table, self.args = table, (list(obs_keys), n_obs_steps, action_key, horizon)

    def __getitem__(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.table.batch(index, *self.args)

    def __len__(self) -> int:
        return len(self.table.episode_index)


def batch_bytes(table: FrameTable, obs_keys: Sequence[str], n_obs_steps: int, action_key: str, horizon: int,
                batch_size: int) -> int:
    """Bytes of one batch (observation history + action chunk)."""
    sample = table.batch(torch.zeros(1, dtype=torch.long), obs_keys, n_obs_steps, action_key, horizon)
    return batch_size * sum(v.numel() * v.element_size() for v in sample.values())


def host_batches(table: FrameTable, frames: torch.Tensor, obs_keys: Sequence[str], n_obs_steps: int, action_key: str,
                 horizon: int, batch_size: int, seed: int, workers: int, pin: bool) -> tuple[DataLoader, int]:
    """A DataLoader of endless random batches from ``table`` (host), and the worker count it uses."""
    size = batch_bytes(table, obs_keys, n_obs_steps, action_key, horizon, batch_size)
    workers = max(0, min(workers, IN_FLIGHT_BYTES // max(1, 2 * size)))
    prefetch = max(1, min(4, IN_FLIGHT_BYTES // max(1, workers * size))) if workers else None
    loader = DataLoader(_TableBatches(table, obs_keys, n_obs_steps, action_key, horizon), batch_size=None,
                        sampler=_RandomFrames(frames, batch_size, seed), num_workers=workers, pin_memory=pin,
                        prefetch_factor=prefetch, persistent_workers=workers > 0,
                        worker_init_fn=ignore_sigint_in_worker if workers else None)
    return loader, workers
