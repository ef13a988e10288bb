"""A FrameSource held in memory: datasets built by code (tests, synthetic tasks), same contract as the reader.

Why a real class and not a mock: the trainer and the policies only see ``FrameSource``; this one
implements all of it (features, stats, camera keys, episode selection, ``delta_timestamps`` with
clamping and ``_is_pad``), so what trains on it trains on a recorded dataset too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robolearn_core.dataset import stats as lerobot_stats
from robolearn_core.dataset.stats import Stats

_IMAGE_PREFIX = 'observation.images.'


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] -> the uint8 values a recording of them would hold."""
    return (np.clip(images, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def feature_stats(episodes: Sequence[Mapping[str, np.ndarray]], key: str, image: bool) -> Stats:
    """LeRobot's stats of one feature, computed per episode and aggregated exactly as the writer does."""
    per_episode = []
    for ep in episodes:
        values = ep[key]
        if image:  # (N, C, H, W) in [0, 1] -> the (N, H, W, C) uint8 frames a recording would hold
            frames = to_uint8(values).transpose(0, 2, 3, 1)
            per_episode.append(lerobot_stats.image_stats(frames))
        else:
            per_episode.append(lerobot_stats.numeric_stats(values))
    return lerobot_stats.aggregate(per_episode)


class InMemoryDataset:
    """Episodes of arrays: ``episodes[i][key]`` is (T_i, ...) float32; images (T_i, 3, H, W) in [0, 1].

    ``tasks`` gives each episode's task string. ``episodes`` selects a subset (like the reader's
    argument); stats are always those of the whole dataset, as in meta/stats.json.
    """

    def __init__(self, episodes: Sequence[Mapping[str, np.ndarray]], fps: int, tasks: Sequence[str] | None = None,
                 selected: Sequence[int] | None = None, delta_timestamps: Mapping[str, Sequence[float]] | None = None):
        if not episodes:
            raise ValueError('an in-memory dataset needs at least one episode')
        keys = set(episodes[0])
        for i, ep in enumerate(episodes):
            if set(ep) != keys:
                raise ValueError(f'episode {i} has features {sorted(ep)}, episode 0 has {sorted(keys)}')
            lengths = {k: len(v) for k, v in ep.items()}
            if len(set(lengths.values())) != 1:
                raise ValueError(f'episode {i}: features have different lengths {lengths}')
        self._episodes = [{k: np.asarray(v, dtype=np.float32) for k, v in ep.items()} for ep in episodes]
        self._tasks = list(tasks) if tasks is not None else ['' for _ in episodes]
        self.fps = int(fps)
        self.camera_keys = sorted(k for k in keys if k.startswith(_IMAGE_PREFIX))
        self.features: dict[str, dict[str, Any]] = {}
        for key in sorted(keys):
            sample = self._episodes[0][key][0]
            if key in self.camera_keys:
                c, h, w = sample.shape
                self.features[key] = {'dtype': 'video', 'shape': [h, w, c], 'names': ['height', 'width', 'channels']}
            else:
                self.features[key] = {'dtype': 'float32', 'shape': list(sample.shape), 'names': None}
        for key, dtype in (('timestamp', 'float32'), ('frame_index', 'int64'), ('episode_index', 'int64'),
                           ('index', 'int64'), ('task_index', 'int64')):
            self.features[key] = {'dtype': dtype, 'shape': [1], 'names': None}
        self.stats = {k: feature_stats(self._episodes, k, k in self.camera_keys) for k in sorted(keys)}
        self._starts = np.cumsum([0] + [len(next(iter(ep.values()))) for ep in self._episodes])
        self._task_list = sorted(set(self._tasks))
        self.select(selected, delta_timestamps)

    def select(self, selected: Sequence[int] | None, delta_timestamps: Mapping[str, Sequence[float]] | None = None) -> None:
        chosen = list(range(len(self._episodes))) if selected is None else list(selected)
        bad = [e for e in chosen if not 0 <= e < len(self._episodes)]
        if bad:
            raise IndexError(f'episodes {bad} do not exist (dataset has {len(self._episodes)})')
        self.episode_indices = chosen
        self.num_episodes = len(chosen)
        self.delta_timestamps = {k: list(v) for k, v in (delta_timestamps or {}).items()}
        unknown = [k for k in self.delta_timestamps if k not in self.stats]
        if unknown:
            raise KeyError(f'delta_timestamps name features the dataset lacks: {unknown}')
        self._frames = [(e, f) for e in chosen for f in range(self._starts[e + 1] - self._starts[e])]

    def subset(self, selected: Sequence[int]) -> 'InMemoryDataset':
        """The same data restricted to some episodes (a cheap copy sharing the arrays)."""
        other = object.__new__(InMemoryDataset)
        other.__dict__.update(self.__dict__)
        other.select(selected, self.delta_timestamps)
        return other

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f'frame {index} out of range ({len(self)} frames)')
        ep, frame = self._frames[index]
        data = self._episodes[ep]
        length = self._starts[ep + 1] - self._starts[ep]
        item: dict[str, Any] = {}
        for key, values in data.items():
            deltas = self.delta_timestamps.get(key)
            if deltas is None:
                item[key] = values[frame]
                continue
            wanted = frame + np.round(np.asarray(deltas) * self.fps).astype(int)
            clamped = np.clip(wanted, 0, length - 1)
            item[key] = values[clamped]
            item[f'{key}_is_pad'] = wanted != clamped
        item.update(episode_index=ep, frame_index=frame, index=int(self._starts[ep] + frame),
                    task_index=self._task_list.index(self._tasks[ep]), timestamp=frame / self.fps,
                    task=self._tasks[ep])
        return item

    def episode_arrays(self, position: int, keys: Sequence[str]) -> dict[str, np.ndarray]:
        ep = self.episode_indices[position]
        data = self._episodes[ep]
        missing = [k for k in keys if k not in data]
        if missing:
            raise KeyError(f'dataset lacks feature(s): {", ".join(missing)}')
        length = self._starts[ep + 1] - self._starts[ep]
        out = {'episode_index': np.full(length, ep, dtype=np.int64), 'frame_index': np.arange(length, dtype=np.int64)}
        for key in keys:
            out[key] = to_uint8(data[key]) if key in self.camera_keys else data[key]
        return out

    def write(self, root: str | Path, codec: str = 'av1', robot_type: str = 'synthetic') -> Path:
        """Record the selected episodes as a LeRobot v3.0 dataset at ``root`` (parquet + mp4, the recorder's writer).

        Why: tests and demos that must train from files on disk, as from a recording, not from arrays.
        """
        from robolearn_core.dataset import layout
        from robolearn_core.dataset.writer import DatasetWriter

        features = {}
        for key in self._episodes[0]:  # the episodes' own features; the writer adds the index columns
            shape = self.features[key]['shape']
            if key in self.camera_keys:
                features[key] = layout.video_feature(shape[0], shape[1], self.fps, codec)
            else:  # a vector: name its entries
                features[key] = layout.vector_feature([f'{key}.{i}' for i in range(shape[0])])
        writer = DatasetWriter(root, self.fps, features, robot_type, video_codec=codec)
        try:
            for ep in self.episode_indices:
                data = self._episodes[ep]
                writer.start_episode(self._tasks[ep] or 'unnamed task')
                for f in range(self._starts[ep + 1] - self._starts[ep]):
                    writer.add_frame({k: to_uint8(data[k][f]).transpose(1, 2, 0) if k in self.camera_keys
                                      else data[k][f] for k in features})
                writer.save_episode()
        finally:
            writer.close()
        return Path(root)
