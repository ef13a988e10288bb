"""A dataset decoded once, and training batches of observation history and action chunks gathered from it.

Why: decoding video and stacking windows per sample on the CPU is what limits training speed for
small policies. Vectors (state, action) are read into tensors; camera frames come either from the
on-disk frame cache (``frame_cache.CameraFrames``, bounded memory) or, for small datasets, are decoded
into memory by DataLoader workers (uint8). Where the table fits, ``to(device)`` puts all of it on the GPU
and every batch is an index gather there; otherwise batches are gathered from the cache on the host
(``host_batches``). Either way a batch has the episode-boundary clamping and ``action_is_pad`` mask of
LeRobot's ``delta_timestamps``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..dataset.api import FrameSource
from .frame_cache import CameraFrames


class _Episodes(Dataset):
    """Whole episodes of a FrameSource, reduced to the keys a policy needs (one decode per camera and episode)."""

    def __init__(self, source: FrameSource, keys: Sequence[str]):
        self.source, self.keys = source, list(keys)

    def __len__(self) -> int:
        return self.source.num_episodes

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v) for k, v in self.source.episode_arrays(position, self.keys).items()}


@dataclass
class FrameTable:
    """Every frame's features as tensors (N, ...), frames of an episode contiguous and in order."""

    data: dict[str, torch.Tensor | CameraFrames]
    episode_index: torch.Tensor  # (N,)
    episode_start: torch.Tensor  # (N,) first frame of each frame's episode
    episode_end: torch.Tensor    # (N,) last frame of each frame's episode
    camera_keys: list[str]

    @classmethod
    def from_source(cls, source: FrameSource, keys: Sequence[str], workers: int = 0, progress: bool = True,
                    camera_frames: Mapping[str, CameraFrames] | None = None) -> 'FrameTable':
        """The features ``keys`` of every selected episode; cameras in ``camera_frames`` stay in that cache, the
        others are decoded whole into memory."""
        missing = [k for k in keys if k not in source.features]
        if missing:
            raise ValueError(f'dataset lacks feature(s): {", ".join(missing)}')
        cams = [k for k in keys if k in source.camera_keys]
        cached = dict(camera_frames or {})
        # one item per episode: workers decode whole episodes in parallel, images stay uint8 throughout
        loader = DataLoader(_Episodes(source, [k for k in keys if k not in cached]), batch_size=None,
                            num_workers=min(workers, source.num_episodes), shuffle=False, persistent_workers=False)
        chunks: dict[str, list[torch.Tensor]] = {}
        for episode in tqdm(loader, desc='reading dataset', unit='episode', disable=not progress, leave=False):
            for key, value in episode.items():
                chunks.setdefault(key, []).append(value)
        if not chunks:
            raise ValueError('dataset has no episodes')
        data = {k: torch.cat(v) for k, v in chunks.items()}
        episode = data.pop('episode_index')
        frame = data.pop('frame_index')
        n = len(episode)
        if n == 0:
            raise ValueError('dataset has no frames')
        change = torch.ones(n, dtype=torch.bool)
        change[1:] = episode[1:] != episode[:-1]
        starts_at = torch.nonzero(change).flatten()
        if len(torch.unique(episode)) != len(starts_at):
            raise ValueError('frames of an episode are not contiguous in the dataset')
        run = torch.cumsum(change.long(), 0) - 1
        ends_at = torch.cat([starts_at[1:] - 1, torch.tensor([n - 1])])
        start, end = starts_at[run], ends_at[run]
        if not torch.equal(frame, torch.arange(n) - start):
            raise ValueError('frame_index of the dataset is not 0, 1, 2, ... within each episode')
        for key, frames in cached.items():
            if len(frames) != n:
                raise ValueError(f'cached frames of {key} hold {len(frames)} frames, the dataset {n}')
            data[key] = frames
        return cls(data, episode, start, end, cams)

    def to(self, device: torch.device | str) -> 'FrameTable':
        """The whole table as tensors on ``device`` (cached cameras read from disk piece by piece)."""
        def move(t: torch.Tensor | CameraFrames) -> torch.Tensor:
            return t.load(device) if isinstance(t, CameraFrames) else t.to(device, non_blocking=True)
        return FrameTable({k: move(v) for k, v in self.data.items()}, move(self.episode_index),
                          move(self.episode_start), move(self.episode_end), self.camera_keys)

    @property
    def device(self) -> torch.device:
        return self.episode_index.device

    @property
    def resident(self) -> bool:
        """Every feature is a tensor (no camera read from the disk cache per batch)."""
        return all(torch.is_tensor(v) for v in self.data.values())

    def nbytes(self) -> int:
        return sum(t.nbytes() if isinstance(t, CameraFrames) else t.numel() * t.element_size()
                   for t in self.data.values())

    def frames_of(self, episodes: Sequence[int]) -> torch.Tensor:
        wanted = torch.as_tensor(list(episodes), device=self.device)
        return torch.nonzero(torch.isin(self.episode_index, wanted)).flatten()

    def batch(self, index: torch.Tensor, obs_keys: Sequence[str], n_obs_steps: int, action_key: str,
              horizon: int) -> dict[str, torch.Tensor]:
        """Observation history (B, n_obs_steps, ...) ending at ``index`` and action chunk (B, horizon, A)
        starting there; steps outside the episode repeat its first/last frame (actions marked as pad)."""
        start, end = self.episode_start[index, None], self.episode_end[index, None]
        obs_idx = index[:, None] + torch.arange(1 - n_obs_steps, 1, device=index.device)
        obs_idx = torch.maximum(obs_idx, start)
        act_idx = index[:, None] + torch.arange(horizon, device=index.device)
        pad = act_idx > end
        act_idx = torch.minimum(act_idx, end)
        out = {k: self.data[k][obs_idx] for k in obs_keys}
        out[action_key] = self.data[action_key][act_idx]
        out[f'{action_key}_is_pad'] = pad
        return out
