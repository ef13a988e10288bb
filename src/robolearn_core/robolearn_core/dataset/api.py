"""What a training loop may rely on from a dataset: the contract between the reader and the policies.

Why a Protocol: the trainer and the policies take any frame source that behaves like LeRobot's
dataset (the on-disk reader, or an in-memory dataset built by a test), so they never import the reader's
internals. ``robolearn_core.dataset.reader.DatasetReader(root, episodes=None, delta_timestamps=None,
cache_decoded=False)`` is the on-disk implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class FrameSource(Protocol):
    #: frames per second of the dataset (meta/info.json "fps")
    fps: int
    #: meta/info.json "features": name -> {"dtype", "shape", "names", ...}
    features: dict[str, dict[str, Any]]
    #: meta/stats.json as arrays: feature -> {"mean", "std", "min", "max", "q01", "q99", ...}
    stats: dict[str, dict[str, np.ndarray]]
    #: the video/image features, e.g. ["observation.images.front", "observation.images.wrist"]
    camera_keys: list[str]
    num_episodes: int

    def __len__(self) -> int:
        """Number of frames (of the selected episodes)."""
        ...

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One frame, LeRobot's layout.

        Every feature key maps to a float32 np.ndarray (images: (C, H, W) in [0, 1]); scalar columns
        ``episode_index``, ``frame_index``, ``index``, ``task_index`` (int) and ``timestamp`` (float), and
        ``task`` (str). With ``delta_timestamps={key: [dt, ...]}`` the key holds a stack (T, ...) of the
        frames at those offsets (clamped to the episode) and ``f"{key}_is_pad"`` a (T,) bool array that
        marks the clamped ones.
        """
        ...

    def episode_arrays(self, position: int, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The whole selected episode at ``position`` (0 .. num_episodes - 1), for loading in bulk.

        Each of ``keys`` maps to (T, ...): vectors float32, cameras (T, C, H, W) uint8 as stored (no
        round trip through float); ``episode_index`` and ``frame_index`` are (T,) int64.
        """
        ...
