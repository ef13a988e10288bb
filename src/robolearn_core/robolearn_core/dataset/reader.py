"""DatasetReader: a LeRobot v3.0 dataset on disk as a FrameSource (see api.py), LeRobot's semantics.

Why not LeRobot's own class: it pulls in torch, datasets and the Hub; robolearn_core stays plain Python.
Numeric columns of the selected episodes are loaded into numpy once; frames come from the mp4 files by
seeking (g=2 keyframes make that cheap), or, with ``cache_decoded``, each (camera, episode) is decoded
once in one sequential pass and served from memory afterwards.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robolearn_core.dataset import commit, layout
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.stats import from_json
from robolearn_core.dataset.video_decode import DecodedFrameCache, VideoDecoder

SCALAR_INT_COLUMNS = ('episode_index', 'frame_index', 'index', 'task_index')


def read_episodes_table(root: Path) -> pa.Table:
    """All meta/episodes/*.parquet files, concatenated in chunk/file order."""
    files = sorted(glob.glob(str(root / 'meta' / 'episodes' / 'chunk-*' / 'file-*.parquet')))
    if not files:
        raise DatasetError(f'{root}: no meta/episodes/chunk-*/file-*.parquet; is this a LeRobot v3.0 dataset?')
    tables = [pq.read_table(f) for f in files]
    return pa.concat_tables(tables, promote_options='permissive') if len(tables) > 1 else tables[0]


def read_tasks(root: Path) -> dict[int, str]:
    """task_index -> task string (the task is the pandas index column of meta/tasks.parquet)."""
    table = pq.read_table(root / layout.TASKS_PATH)
    names = [n for n in table.column_names if n != 'task_index']
    if 'task_index' not in table.column_names or not names:
        raise DatasetError(f'{root / layout.TASKS_PATH}: expected columns task_index and the task string')
    key = '__index_level_0__' if '__index_level_0__' in names else names[0]
    return dict(zip(table.column('task_index').to_pylist(), table.column(key).to_pylist()))


class DatasetReader:
    """Frames and windows of a LeRobot v3.0 dataset (a ``FrameSource``).

    ``episodes`` selects episode indices (default all); ``delta_timestamps`` {key: [seconds, ...]} makes
    ``reader[i][key]`` a stack of the frames at those offsets, clamped to the episode and flagged in
    ``key + '_is_pad'``; ``cache_decoded`` keeps decoded episodes in memory up to ``cache_max_bytes``.
    """

    def __init__(
        self,
        root: str | Path,
        episodes: Sequence[int] | None = None,
        delta_timestamps: dict[str, Sequence[float]] | None = None,
        cache_decoded: bool = False,
        *,
        tolerance_s: float = 1e-4,
        cache_max_bytes: int = 8 << 30,
    ) -> None:
        self.root = Path(root)
        info_path = self.root / layout.INFO_PATH
        if not info_path.is_file():
            raise DatasetError(f'{self.root}: no meta/info.json; point at the dataset root (the folder with meta/)')
        if commit.pending(self.root):
            raise DatasetError(
                f'{self.root}: a save was interrupted half way ({commit.STAGING_DIR}/{commit.JOURNAL}); open it once '
                'with DatasetWriter (or restart the recorder on it) to finish the save, then read it'
            )
        self.info: dict[str, Any] = layout.read_json(info_path)
        if self.info.get('codebase_version') != layout.CODEBASE_VERSION:
            raise DatasetError(
                f"{self.root}: codebase_version {self.info.get('codebase_version')!r}, this reader reads "
                f"{layout.CODEBASE_VERSION!r} (convert older datasets with LeRobot's converter)"
            )
        self.fps: int = int(self.info['fps'])
        self.features: dict[str, dict[str, Any]] = self.info['features']
        self.camera_keys: list[str] = layout.image_keys(self.features)
        unsupported = [k for k in self.camera_keys if self.features[k]['dtype'] != 'video']
        if unsupported:
            raise DatasetError(f'{self.root}: image features stored in parquet are not supported: {unsupported}')
        stats_path = self.root / layout.STATS_PATH
        self.stats = from_json(layout.read_json(stats_path)) if stats_path.is_file() else {}
        self.tasks = read_tasks(self.root)
        self.tolerance_s = tolerance_s

        table = read_episodes_table(self.root).sort_by('episode_index')
        all_eps = {row['episode_index']: row for row in table.drop_columns(
            [c for c in table.column_names if c.startswith('stats/')]).to_pylist()}
        self._episode_stats_table = table
        wanted = sorted(all_eps) if episodes is None else list(episodes)
        missing = [e for e in wanted if e not in all_eps]
        if missing:
            raise DatasetError(f'{self.root}: episodes {missing} do not exist (it has {len(all_eps)}: 0..{len(all_eps) - 1})')
        self.episodes: list[dict[str, Any]] = [all_eps[e] for e in wanted]
        self.num_episodes = len(self.episodes)

        self._load_columns()
        self.delta_indices = self._delta_indices(delta_timestamps or {})
        self._decoders: dict[Path, VideoDecoder] = {}
        self.cache = DecodedFrameCache(cache_max_bytes) if cache_decoded else None

    # -- loading -------------------------------------------------------------------------------------------
    def _load_columns(self) -> None:
        """Numeric columns of the selected episodes, in episode order, as numpy arrays."""
        by_file: dict[tuple[int, int], list[int]] = {}
        for ep in self.episodes:
            by_file.setdefault((ep['data/chunk_index'], ep['data/file_index']), []).append(ep['episode_index'])
        parts: dict[int, pa.Table] = {}
        for (chunk, file), eps in by_file.items():
            path = self.root / self.info['data_path'].format(chunk_index=chunk, file_index=file)
            if not path.is_file():
                raise DatasetError(f'{path}: data file named by meta/episodes is missing')
            table = pq.read_table(path)
            ep_col = table.column('episode_index').to_numpy()
            for e in eps:
                parts[e] = table.filter(pa.array(ep_col == e))
        self.columns: dict[str, np.ndarray] = {}
        tables = [parts[ep['episode_index']] for ep in self.episodes]
        whole = pa.concat_tables(tables) if tables else None
        starts, pos = [], 0
        for ep, t in zip(self.episodes, tables):
            if t.num_rows != ep['length']:
                raise DatasetError(
                    f"{self.root}: episode {ep['episode_index']} has {t.num_rows} rows in its data file, "
                    f"meta/episodes says length {ep['length']}"
                )
            starts.append(pos)
            pos += t.num_rows
        self._starts = np.array(starts + [pos], dtype=np.int64)
        if whole is None:
            return
        for name in whole.column_names:
            col = whole.column(name)
            if pa.types.is_fixed_size_list(col.type):
                flat = col.combine_chunks().flatten().to_numpy(zero_copy_only=False)
                self.columns[name] = flat.reshape(len(col), col.type.list_size)
            elif pa.types.is_list(col.type):
                self.columns[name] = np.asarray(col.to_pylist())
            else:
                self.columns[name] = col.to_numpy()
        # floats of vector features come back as float32 already; keep them that way
        for name, f in self.features.items():
            if name in self.columns and f['dtype'] in ('float32', 'float64') and name not in ('timestamp',):
                self.columns[name] = self.columns[name].astype(np.float32, copy=False)

    def _delta_indices(self, delta_timestamps: dict[str, Sequence[float]]) -> dict[str, np.ndarray]:
        out = {}
        for key, deltas in delta_timestamps.items():
            if key not in self.features:
                raise DatasetError(f'delta_timestamps key {key!r} is not a feature; features: {list(self.features)}')
            steps = np.asarray(deltas, dtype=np.float64) * self.fps
            rounded = np.round(steps)
            bad = [d for d, s, r in zip(deltas, steps, rounded) if abs(s - r) / self.fps > self.tolerance_s]
            if bad:
                raise DatasetError(
                    f'delta_timestamps[{key!r}] has {bad}, not multiples of 1/fps = {1 / self.fps:.6f} s '
                    f'(within {self.tolerance_s} s)'
                )
            out[key] = rounded.astype(np.int64)
        return out

    # -- FrameSource -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._starts[-1])

    def episode_of(self, index: int) -> int:
        """Position (in the selected episodes) of the episode that holds local frame ``index``."""
        return int(np.searchsorted(self._starts, index, side='right') - 1)

    def episode_range(self, position: int) -> tuple[int, int]:
        """Local frame range [start, end) of the selected episode at ``position``."""
        return int(self._starts[position]), int(self._starts[position + 1])

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f'frame {index} out of range 0..{n - 1}')
        pos = self.episode_of(index)
        start, end = self.episode_range(pos)
        item: dict[str, Any] = {}
        for name, col in self.columns.items():
            if name in self.delta_indices:
                continue
            value = col[index]
            if name in SCALAR_INT_COLUMNS:
                item[name] = int(value)
            elif name == 'timestamp':
                item[name] = float(value)
            else:
                item[name] = np.asarray(value, dtype=np.float32)
        for key, deltas in self.delta_indices.items():
            raw = index + deltas
            query = np.clip(raw, start, end - 1)
            item[f'{key}_is_pad'] = (raw < start) | (raw >= end)
            if key in self.camera_keys:
                item[key] = self._frames(key, pos, query - start)
            else:
                item[key] = np.asarray(self.columns[key][query], dtype=np.float32 if key != 'index' else None)
        for key in self.camera_keys:
            if key not in self.delta_indices:
                item[key] = self._frames(key, pos, np.array([index - start]))[0]
        item['task'] = self.tasks[item['task_index']]
        return item

    def episode_arrays(self, position: int, keys: Sequence[str]) -> dict[str, np.ndarray]:
        start, end = self.episode_range(position)
        # copies: the columns are read-only views of arrow buffers
        out = {name: np.array(self.columns[name][start:end], dtype=np.int64) for name in ('episode_index', 'frame_index')}
        for key in keys:
            if key in self.camera_keys:
                out[key] = np.ascontiguousarray(self.episode_frames_uint8(key, position, np.arange(end - start))
                                                .transpose(0, 3, 1, 2))
            elif key in self.columns:
                out[key] = np.array(self.columns[key][start:end], dtype=np.float32)
            else:
                raise DatasetError(f'{self.root}: no feature {key!r}; features: {list(self.features)}')
        return out

    # -- frames ------------------------------------------------------------------------------------------------
    def _decoder(self, key: str, ep: dict[str, Any]) -> VideoDecoder:
        path = self.root / self.info['video_path'].format(
            video_key=key, chunk_index=ep[f'videos/{key}/chunk_index'], file_index=ep[f'videos/{key}/file_index']
        )
        dec = self._decoders.get(path)
        if dec is None:
            if not path.is_file():
                raise DatasetError(f'{path}: video file named by meta/episodes is missing')
            dec = self._decoders[path] = VideoDecoder(path, self.tolerance_s)
        return dec

    def episode_frames_uint8(self, key: str, position: int, frame_indices: np.ndarray) -> np.ndarray:
        """Frames of a camera (T, H, W, 3) uint8 at frame indices inside the selected episode ``position``."""
        ep = self.episodes[position]
        start, _ = self.episode_range(position)
        if self.cache is not None:
            cache_key = (key, ep['episode_index'])
            frames = self.cache.get(cache_key)
            if frames is None:
                frames = self._decoder(key, ep).decode_span(
                    ep[f'videos/{key}/from_timestamp'], ep['length'], self.fps)
                self.cache.put(cache_key, frames)
            return frames[frame_indices]
        ts = ep[f'videos/{key}/from_timestamp'] + self.columns['timestamp'][start + frame_indices].astype(np.float64)
        return self._decoder(key, ep).frames_at(ts.tolist())

    def _frames(self, key: str, position: int, frame_indices: np.ndarray) -> np.ndarray:
        rgb = self.episode_frames_uint8(key, position, frame_indices)
        return np.ascontiguousarray(rgb.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for spawned DataLoader workers: open decoders and decoded frames stay behind."""
        state = dict(self.__dict__)
        state['_decoders'] = {}
        if self.cache is not None:
            state['cache'] = DecodedFrameCache(self.cache.max_bytes)
        return state

    def close(self) -> None:
        for dec in self._decoders.values():
            dec.close()
        self._decoders.clear()

    def episode_stats(self) -> list[dict[str, dict[str, np.ndarray]]]:
        """Per-episode stats from meta/episodes ``stats/<feature>/<stat>`` columns (all episodes)."""
        table = self._episode_stats_table
        out = []
        for row in table.select([c for c in table.column_names if c.startswith('stats/')]).to_pylist():
            ep: dict[str, dict[str, np.ndarray]] = {}
            for col, value in row.items():
                feature, stat = col[len('stats/'):].rsplit('/', 1)
                if value is not None:
                    ep.setdefault(feature, {})[stat] = np.asarray(value)
            out.append(ep)
        return out
