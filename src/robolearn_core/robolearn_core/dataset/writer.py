"""DatasetWriter: records episodes into a LeRobot v3.0 dataset, encoding video while frames arrive.

Why it differs from LeRobot's writer while writing the same files:
- each camera's frames go to an encoder thread the moment they are added (video_encode.py), so
  ``save_episode`` only waits for the last frames in flight, the remux that appends the episode to the
  shared mp4, and a few small files;
- every save is an atomic commit (commit.py): complete new versions of the data, video and metadata files
  are staged and fsynced, then renamed together under a journal; a crash loses at most the episode in
  progress, and LeRobot's open-ended parquet writer (unreadable until closed) is not used;
- resume appends to the existing files (``DatasetWriter.open`` on an existing dataset).

Values are taken in dataset units (for SO arms: degrees and gripper 0..100, see the calibration module);
images as (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robolearn_core.dataset import commit, layout
from robolearn_core.dataset import stats as st
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.reader import read_episodes_table, read_tasks
from robolearn_core.dataset.video_encode import (
    EncodedEpisode,
    EpisodeVideoEncoder,
    append_videos,
    check_encoder,
)

MB = 1024 * 1024


@dataclass
class SavedEpisode:
    """What ``save_episode`` reports."""

    episode_index: int
    length: int
    task: str
    save_seconds: float
    #: seconds of video per second the slowest camera's encoder was busy (> 1: faster than real time)
    encode_realtime_factor: float


@dataclass
class _Episode:
    index: int
    task: str
    values: dict[str, list[np.ndarray]]
    encoders: dict[str, EpisodeVideoEncoder]
    encoded: dict[str, EncodedEpisode] = field(default_factory=dict)
    frames: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass
class _VideoFile:
    chunk: int
    file: int
    end_s: float  # to_timestamp of the last episode in it


def hf_features(features: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``huggingface`` schema metadata LeRobot puts in data parquet files (datasets' feature types)."""
    out: dict[str, Any] = {}
    for name, f in features.items():
        if f['dtype'] in ('video', 'image'):
            continue
        if f['shape'] == [1] and f.get('names') is None:
            out[name] = {'dtype': f['dtype'], '_type': 'Value'}
        else:
            out[name] = {'feature': {'dtype': f['dtype'], '_type': 'Value'}, 'length': f['shape'][0], '_type': 'List'}
    return {'info': {'features': out}}


def _arrow_type(feature: dict[str, Any]) -> pa.DataType:
    scalar = pa.from_numpy_dtype(np.dtype(feature['dtype']))
    if feature['shape'] == [1] and feature.get('names') is None:
        return scalar
    return pa.list_(scalar, feature['shape'][0])


def _stat_column(value: np.ndarray) -> tuple[Any, pa.DataType]:
    arr = np.asarray(value)
    leaf = pa.int64() if arr.dtype.kind in 'iu' else pa.float64()
    typ: pa.DataType = leaf
    for _ in range(arr.ndim):
        typ = pa.list_(typ)
    return arr.tolist(), typ


class DatasetWriter:
    """Create or resume a dataset at ``root`` and record episodes into it.

    ``features``: the user features, e.g. ``{'observation.state': layout.vector_feature(names),
    'observation.images.front': layout.video_feature(480, 640, 30, 'av1')}``; the index columns are added.
    """

    def __init__(
        self,
        root: str | Path,
        fps: int | None = None,
        features: dict[str, dict[str, Any]] | None = None,
        robot_type: str = 'unknown',
        *,
        video_codec: str = 'av1',
        crf: int = 30,
        preset: int | None = None,
        encoder_threads: int = 1,
        data_files_size_in_mb: int = layout.DEFAULT_DATA_FILES_SIZE_MB,
        video_files_size_in_mb: int = layout.DEFAULT_VIDEO_FILES_SIZE_MB,
        chunks_size: int = layout.DEFAULT_CHUNKS_SIZE,
    ) -> None:
        self.root = Path(root)
        self.video_codec, self.crf, self.preset, self.encoder_threads = video_codec, crf, preset, encoder_threads
        self.check_writable(self.root)
        self.recovered_commit = commit.recover(self.root)
        info_path = self.root / layout.INFO_PATH
        if info_path.is_file():
            self._resume(fps, features)
        else:
            if fps is None or features is None:
                raise DatasetError(f'{self.root} holds no dataset yet: give fps and features to create one')
            self._create(fps, features, robot_type, data_files_size_in_mb, video_files_size_in_mb, chunks_size)
        if self.video_keys:
            codecs = {self.features[k]['info']['video.codec'] for k in self.video_keys}
            if codecs != {video_codec}:
                raise DatasetError(
                    f'{self.root}: its videos are {sorted(codecs)}, the writer was asked for {video_codec!r}; '
                    'use the same codec to append (episodes in one mp4 must share it)'
                )
            check_encoder(video_codec)
        self._episode: _Episode | None = None

    # -- opening ---------------------------------------------------------------------------------------------
    @staticmethod
    def check_writable(root: Path) -> None:
        """Create ``root`` if needed and prove a file can be written there; DatasetError names the fix."""
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / '.robolearn_write_probe'
            probe.write_bytes(b'ok')
            probe.unlink()
        except OSError as exc:
            raise DatasetError(
                f'cannot write to the dataset directory {root}: {exc.strerror or exc}; '
                'choose a writable directory or fix its permissions (nothing was written)'
            ) from exc

    def _create(self, fps: int, features: dict[str, dict[str, Any]], robot_type: str,
                data_mb: int, video_mb: int, chunks_size: int) -> None:
        clash = sorted(set(features) & set(layout.INDEX_FEATURES))
        if clash:
            raise DatasetError(f'features {clash} are index columns the writer adds itself; remove them')
        self.info = layout.new_info(
            fps, robot_type, features, chunks_size=chunks_size, data_files_size_in_mb=data_mb,
            video_files_size_in_mb=video_mb,
        )
        self.tasks: dict[str, int] = {}
        self.global_stats: dict[str, st.Stats] = {}
        self._meta_pos = (0, 0)
        self._meta_table: pa.Table | None = None
        self._data_pos: tuple[int, int] | None = None
        self._data_groups: list[pa.Table] = []
        self._videos: dict[str, _VideoFile] = {}

    def _resume(self, fps: int | None, features: dict[str, dict[str, Any]] | None) -> None:
        self.info = layout.read_json(self.root / layout.INFO_PATH)
        if self.info.get('codebase_version') != layout.CODEBASE_VERSION:
            raise DatasetError(f"{self.root}: codebase_version {self.info.get('codebase_version')!r} cannot be appended to")
        if fps is not None and fps != self.info['fps']:
            raise DatasetError(f"{self.root} records at {self.info['fps']} fps, not {fps}: use another directory")
        if features is not None:
            existing = {k: v for k, v in self.info['features'].items() if k not in layout.INDEX_FEATURES}
            if {k: (v['dtype'], list(v['shape'])) for k, v in features.items()} != {
                k: (v['dtype'], list(v['shape'])) for k, v in existing.items()
            }:
                raise DatasetError(
                    f'{self.root} has features {sorted(existing)} with other shapes or types than the ones given '
                    f'({sorted(features)}); record into a new directory'
                )
        self.tasks = {t: i for i, t in read_tasks(self.root).items()} if (self.root / layout.TASKS_PATH).is_file() else {}
        stats_path = self.root / layout.STATS_PATH
        self.global_stats = st.from_json(layout.read_json(stats_path)) if stats_path.is_file() else {}
        self._data_groups = []
        self._videos = {}
        if self.info['total_episodes'] == 0:
            self._meta_pos, self._meta_table, self._data_pos = (0, 0), None, None
            return
        episodes = read_episodes_table(self.root).sort_by('episode_index')
        last = episodes.slice(episodes.num_rows - 1).to_pylist()[0]
        if last['episode_index'] != self.info['total_episodes'] - 1 or last['dataset_to_index'] != self.info['total_frames']:
            raise DatasetError(
                f"{self.root}: meta/info.json says {self.info['total_episodes']} episodes / {self.info['total_frames']} "
                f"frames but the last episode is {last['episode_index']} ending at {last['dataset_to_index']}; "
                'run `dataset validate` on it'
            )
        self._meta_pos = (last['meta/episodes/chunk_index'], last['meta/episodes/file_index'])
        self._meta_table = pq.read_table(self.root / layout.EPISODES_PATH.format(
            chunk_index=self._meta_pos[0], file_index=self._meta_pos[1]))
        self._data_pos = (last['data/chunk_index'], last['data/file_index'])
        pf = pq.ParquetFile(self.root / self.info['data_path'].format(
            chunk_index=self._data_pos[0], file_index=self._data_pos[1]))
        self._data_groups = [pf.read_row_group(i) for i in range(pf.num_row_groups)]
        for key in self.video_keys:
            self._videos[key] = _VideoFile(
                last[f'videos/{key}/chunk_index'], last[f'videos/{key}/file_index'], last[f'videos/{key}/to_timestamp'])

    # -- properties ------------------------------------------------------------------------------------------
    @property
    def fps(self) -> int:
        return int(self.info['fps'])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return self.info['features']

    @property
    def video_keys(self) -> list[str]:
        return layout.video_keys(self.features)

    @property
    def user_keys(self) -> list[str]:
        return [k for k in self.features if k not in layout.INDEX_FEATURES]

    @property
    def num_episodes(self) -> int:
        return int(self.info['total_episodes'])

    @property
    def episode_in_progress(self) -> bool:
        return self._episode is not None

    @property
    def frames_in_episode(self) -> int:
        return self._episode.frames if self._episode else 0

    def encoder_backlog(self) -> int:
        """Frames queued to the encoders of the episode in progress (0 when they keep up)."""
        return sum(e.backlog for e in self._episode.encoders.values()) if self._episode else 0

    # -- recording -------------------------------------------------------------------------------------------
    def start_episode(self, task: str) -> int:
        """Begin episode ``num_episodes`` for ``task``; returns its index."""
        if self._episode is not None:
            raise RuntimeError(f'episode {self._episode.index} is still in progress: save or discard it first')
        if not task or not isinstance(task, str):
            raise ValueError('an episode needs a task string (what the demonstration does)')
        stage = commit.staging_dir(self.root)
        stage.mkdir(parents=True, exist_ok=True)
        index = self.num_episodes
        encoders = {}
        for key in self.video_keys:
            h, w, _ = self.features[key]['shape']
            encoders[key] = EpisodeVideoEncoder(
                stage / f'episode-{index:06d}-{key}.mp4', w, h, self.fps, self.video_codec, self.crf,
                preset=self.preset, threads=self.encoder_threads,
            )
        values = {k: [] for k in self.user_keys if k not in self.video_keys}
        self._episode = _Episode(index, task, values, encoders)
        return index

    def add_frame(self, frame: dict[str, Any]) -> None:
        """Append one frame: a value for every user feature (vectors in dataset units, images uint8 RGB)."""
        ep = self._episode
        if ep is None:
            raise RuntimeError('add_frame before start_episode')
        missing = [k for k in self.user_keys if k not in frame]
        extra = [k for k in frame if k not in self.user_keys]
        if missing or extra:
            raise ValueError(f'frame keys do not match the dataset features: missing {missing}, unexpected {extra}')
        for key in ep.values:
            f = self.features[key]
            value = np.asarray(frame[key], dtype=np.dtype(f['dtype'])).reshape(-1)
            if value.shape[0] != f['shape'][0]:
                raise ValueError(f'{key} has {value.shape[0]} values, the dataset feature has {f["shape"][0]}')
            ep.values[key].append(value)
        for key, enc in ep.encoders.items():
            enc.add(np.ascontiguousarray(frame[key], dtype=np.uint8))
        ep.frames += 1

    def discard_episode(self) -> None:
        """Drop the episode in progress; nothing on disk changes."""
        ep, self._episode = self._episode, None
        if ep is None:
            return
        for enc in ep.encoders.values():
            enc.cancel()

    def save_episode(self) -> SavedEpisode:
        """Commit the episode in progress atomically; on failure the dataset is unchanged and save can be retried."""
        ep = self._episode
        if ep is None:
            raise RuntimeError('save_episode without an episode in progress')
        if ep.frames < 1:
            raise ValueError('the episode has no frames: record some or discard it')
        t0 = time.perf_counter()
        for key, enc in ep.encoders.items():
            if key not in ep.encoded:
                ep.encoded[key] = enc.finish()
        self._commit_episode(ep)
        self._episode = None
        busy = [e.encode_seconds for e in ep.encoded.values()]
        factor = (ep.frames / self.fps) / max(busy) if busy and max(busy) > 0 else float('inf')
        return SavedEpisode(ep.index, ep.frames, ep.task, time.perf_counter() - t0, factor)

    def close(self) -> None:
        """Discard an unsaved episode and remove the staging folder."""
        self.discard_episode()
        commit.recover(self.root)

    # -- committing ------------------------------------------------------------------------------------------
    def _episode_table(self, ep: _Episode, task_index: int, start_index: int) -> pa.Table:
        n = ep.frames
        frame_index = np.arange(n, dtype=np.int64)
        columns: dict[str, pa.Array] = {}
        for key, vals in ep.values.items():
            f = self.features[key]
            arr = np.stack(vals)
            typ = _arrow_type(f)
            if pa.types.is_fixed_size_list(typ):
                columns[key] = pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1), type=typ.value_type), f['shape'][0])
            else:
                columns[key] = pa.array(arr.reshape(-1), type=typ)
        columns['timestamp'] = pa.array((frame_index / self.fps).astype(np.float32))
        columns['frame_index'] = pa.array(frame_index)
        columns['episode_index'] = pa.array(np.full(n, ep.index, dtype=np.int64))
        columns['index'] = pa.array(start_index + frame_index)
        columns['task_index'] = pa.array(np.full(n, task_index, dtype=np.int64))
        order = [k for k in self.features if k in columns]
        meta = {b'huggingface': json.dumps(hf_features(self.features)).encode()}
        return pa.table({k: columns[k] for k in order}).replace_schema_metadata(meta)

    def _episode_stats(self, ep: _Episode, table: pa.Table) -> dict[str, st.Stats]:
        out: dict[str, st.Stats] = {}
        for key in self.features:
            if key in ep.encoded:
                out[key] = st.image_stats_from_histograms(ep.encoded[key].histograms)
            elif key == 'timestamp':  # LeRobot: stats of the float64 times, before the float32 column
                out[key] = st.numeric_stats(np.arange(ep.frames) / self.fps)
            else:
                col = table.column(key)
                if pa.types.is_fixed_size_list(col.type):
                    arr = col.combine_chunks().flatten().to_numpy().reshape(len(col), col.type.list_size)
                else:
                    arr = col.to_numpy()
                out[key] = st.numeric_stats(arr)
        return out

    def _commit_episode(self, ep: _Episode) -> None:
        """Stage every file the episode changes, then rename them all into place at once (commit.py)."""
        stage = commit.staging_dir(self.root)
        stage.mkdir(parents=True, exist_ok=True)
        start_index = int(self.info['total_frames'])
        tasks = dict(self.tasks)
        if ep.task not in tasks:
            tasks[ep.task] = len(tasks)
        table = self._episode_table(ep, tasks[ep.task], start_index)
        ep_stats = self._episode_stats(ep, table)

        data_pos, groups, renames = self._stage_data(stage, table)
        videos, row_videos, video_renames = self._stage_videos(stage, ep)
        row: dict[str, tuple[Any, pa.DataType]] = {
            'episode_index': (ep.index, pa.int64()),
            'tasks': ([ep.task], pa.list_(pa.string())),
            'length': (ep.frames, pa.int64()),
            'data/chunk_index': (data_pos[0], pa.int64()),
            'data/file_index': (data_pos[1], pa.int64()),
            'dataset_from_index': (start_index, pa.int64()),
            'dataset_to_index': (start_index + ep.frames, pa.int64()),
            **row_videos,
        }
        for feature, fstats in ep_stats.items():
            for stat in st.STAT_KEYS:
                row[f'stats/{feature}/{stat}'] = _stat_column(fstats[stat])
        meta_pos, meta_table, meta_rename = self._stage_episode_row(stage, row)
        renames += [*video_renames, meta_rename]

        if ep.task not in self.tasks:
            tasks_staged = stage / 'tasks.parquet'
            write_tasks(tasks, tasks_staged)
            renames.append((tasks_staged, self.root / layout.TASKS_PATH))

        global_stats = st.aggregate_features([self.global_stats, ep_stats]) if self.global_stats else ep_stats
        stats_staged = stage / 'stats.json'
        _write_json(stats_staged, st.to_json(global_stats))
        renames.append((stats_staged, self.root / layout.STATS_PATH))

        info = json.loads(json.dumps(self.info))
        info['total_episodes'] = ep.index + 1
        info['total_frames'] = start_index + ep.frames
        info['total_tasks'] = len(tasks)
        info['splits'] = {'train': f'0:{ep.index + 1}'}
        info_staged = stage / 'info.json'
        _write_json(info_staged, info)
        renames.append((info_staged, self.root / layout.INFO_PATH))

        commit.commit(self.root, renames)
        for encoded in ep.encoded.values():
            encoded.path.unlink(missing_ok=True)  # appended by copy; the staged original is no longer needed
        try:
            stage.rmdir()  # empty between episodes: the dataset folder holds only LeRobot's files
        except OSError:
            pass

        # the dataset on disk now has the episode: move the in-memory state along
        self.info, self.tasks, self.global_stats = info, tasks, global_stats
        self._data_pos, self._data_groups = data_pos, groups
        self._meta_pos, self._meta_table = meta_pos, meta_table
        self._videos = videos

    def _stage_data(self, stage: Path, table: pa.Table) -> tuple[tuple[int, int], list[pa.Table], list[tuple[Path, Path]]]:
        """The data parquet with the episode: the current file, or the next one past data_files_size_in_mb."""
        data_pos, groups = self._data_pos, list(self._data_groups)
        if data_pos is None:
            data_pos, groups = (0, 0), []
        else:
            path = self.root / self.info['data_path'].format(chunk_index=data_pos[0], file_index=data_pos[1])
            size = path.stat().st_size if path.is_file() else 0
            rows = sum(g.num_rows for g in groups)
            estimate = size / rows * table.num_rows if rows else 0
            if size + estimate >= self.info['data_files_size_in_mb'] * MB:
                data_pos, groups = layout.next_chunk_file(*data_pos, self.info['chunks_size']), []
        groups.append(table)
        data_final = self.root / self.info['data_path'].format(chunk_index=data_pos[0], file_index=data_pos[1])
        data_staged = stage / 'data.parquet'
        with pq.ParquetWriter(data_staged, table.schema, compression='snappy', use_dictionary=True) as w:
            for g in groups:
                w.write_table(g.cast(table.schema) if g.schema != table.schema else g)
        return data_pos, groups, [(data_staged, data_final)]

    def _stage_videos(self, stage: Path, ep: _Episode) -> tuple[dict[str, _VideoFile], dict[str, Any], list[tuple[Path, Path]]]:
        """Each camera's mp4 with the episode appended, or the next file past video_files_size_in_mb."""
        videos = dict(self._videos)
        row_videos: dict[str, Any] = {}
        renames = []
        for key, encoded in ep.encoded.items():
            current = videos.get(key)
            ep_size = encoded.path.stat().st_size
            staged = stage / f'video-{key}.mp4'
            if current is not None:
                cur_path = self.root / self.info['video_path'].format(
                    video_key=key, chunk_index=current.chunk, file_index=current.file)
                if cur_path.stat().st_size + ep_size < self.info['video_files_size_in_mb'] * MB:
                    append_videos([cur_path, encoded.path], staged)
                    start_s = current.end_s
                else:
                    current = _VideoFile(*layout.next_chunk_file(current.chunk, current.file, self.info['chunks_size']), 0.0)
                    os.replace(encoded.path, staged)
                    start_s = 0.0
            else:
                current = _VideoFile(0, 0, 0.0)
                os.replace(encoded.path, staged)
                start_s = 0.0
            end_s = start_s + ep.frames / self.fps
            videos[key] = _VideoFile(current.chunk, current.file, end_s)
            renames.append((staged, self.root / self.info['video_path'].format(
                video_key=key, chunk_index=current.chunk, file_index=current.file)))
            row_videos.update({
                f'videos/{key}/chunk_index': (current.chunk, pa.int64()),
                f'videos/{key}/file_index': (current.file, pa.int64()),
                f'videos/{key}/from_timestamp': (start_s, pa.float64()),
                f'videos/{key}/to_timestamp': (end_s, pa.float64()),
            })
        return videos, row_videos, renames

    def _stage_episode_row(self, stage: Path, row: dict[str, tuple[Any, pa.DataType]]
                           ) -> tuple[tuple[int, int], pa.Table, tuple[Path, Path]]:
        """meta/episodes with the episode's row appended to the current file (or the next, past the size limit)."""
        meta_pos, meta_table = self._meta_pos, self._meta_table
        if meta_table is not None:
            meta_path = self.root / layout.EPISODES_PATH.format(chunk_index=meta_pos[0], file_index=meta_pos[1])
            if meta_path.is_file() and meta_path.stat().st_size >= self.info['data_files_size_in_mb'] * MB:
                meta_pos, meta_table = layout.next_chunk_file(*meta_pos, self.info['chunks_size']), None
        row = {**row, 'meta/episodes/chunk_index': (meta_pos[0], pa.int64()),
               'meta/episodes/file_index': (meta_pos[1], pa.int64())}
        row_table = pa.table({k: pa.array([v], type=t) for k, (v, t) in row.items()})
        meta_table = row_table if meta_table is None else pa.concat_tables(
            [meta_table, row_table], promote_options='permissive')
        meta_staged = stage / 'episodes.parquet'
        pq.write_table(meta_table, meta_staged, compression='snappy')
        return meta_pos, meta_table, (meta_staged, self.root / layout.EPISODES_PATH.format(
            chunk_index=meta_pos[0], file_index=meta_pos[1]))


def write_tasks(tasks: dict[str, int], path: Path) -> None:
    """meta/tasks.parquet as LeRobot writes it: task_index, with the task string as the pandas index."""
    items = sorted(tasks.items(), key=lambda kv: kv[1])
    table = pa.table({
        'task_index': pa.array([i for _, i in items], type=pa.int64()),
        '__index_level_0__': pa.array([t for t, _ in items], type=pa.large_string()),
    })
    pandas_meta = {
        'index_columns': ['__index_level_0__'],
        'column_indexes': [{'name': None, 'field_name': None, 'pandas_type': 'unicode', 'numpy_type': 'object',
                            'metadata': {'encoding': 'UTF-8'}}],
        'columns': [
            {'name': 'task_index', 'field_name': 'task_index', 'pandas_type': 'int64', 'numpy_type': 'int64',
             'metadata': None},
            {'name': None, 'field_name': '__index_level_0__', 'pandas_type': 'unicode', 'numpy_type': 'object',
             'metadata': None},
        ],
        'attributes': {},
        'creator': {'library': 'pyarrow', 'version': pa.__version__},
    }
    pq.write_table(table.replace_schema_metadata({b'pandas': json.dumps(pandas_meta).encode()}), path)


def _write_json(path: Path, obj: Any) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=4)
