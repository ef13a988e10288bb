"""Check a directory against the LeRobot v3.0 format and name every problem found (not only the first).

Why: a dataset broken by a crash, a hand edit or another tool should be caught before hours of training,
with a message that says which file and which value are wrong.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robolearn_core.dataset import commit, layout
from robolearn_core.dataset.stats import STAT_KEYS

EPISODE_COLUMNS = ('episode_index', 'tasks', 'length', 'data/chunk_index', 'data/file_index',
                   'dataset_from_index', 'dataset_to_index', 'meta/episodes/chunk_index', 'meta/episodes/file_index')
VIDEO_COLUMNS = ('chunk_index', 'file_index', 'from_timestamp', 'to_timestamp')


class Report:
    """Problems (the dataset is not valid) and notes (worth knowing, not wrong)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []

    def problem(self, msg: str) -> None:
        self.problems.append(msg)

    def note(self, msg: str) -> None:
        self.notes.append(msg)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(root: str | Path) -> Report:
    """Every check; never raises on a bad dataset (only on programming errors)."""
    root = Path(root)
    rep = Report()
    info = _check_info(root, rep)
    if info is None:
        return rep
    if commit.pending(root):
        rep.problem(f'{commit.STAGING_DIR}/{commit.JOURNAL}: a save was interrupted half way; reopen the dataset '
                    'with the writer (or restart the recorder on it) to finish it')
    elif commit.staging_dir(root).exists():
        rep.note(f'{commit.STAGING_DIR}/ exists: an episode is being recorded, or a recorder stopped during one '
                 '(it is not part of the dataset; the writer removes it when it reopens)')
    tasks = _check_tasks(root, info, rep)
    episodes = _check_episodes(root, info, tasks, rep)
    if episodes is not None:
        _check_data(root, info, episodes, rep)
        _check_videos(root, info, episodes, rep)
    _check_stats(root, info, rep)
    return rep


def _check_info(root: Path, rep: Report) -> dict[str, Any] | None:
    path = root / layout.INFO_PATH
    if not path.is_file():
        rep.problem(f'meta/info.json is missing: {root} is not a LeRobot dataset root')
        return None
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        rep.problem(f'meta/info.json is not valid JSON: {exc}')
        return None
    for key in layout.INFO_KEYS:
        if key not in info:
            rep.problem(f'meta/info.json: key {key!r} is missing')
    if info.get('codebase_version') != layout.CODEBASE_VERSION:
        rep.problem(f"meta/info.json: codebase_version is {info.get('codebase_version')!r}, expected 'v3.0'")
    if not isinstance(info.get('fps'), int) or info.get('fps', 0) <= 0:
        rep.problem(f"meta/info.json: fps {info.get('fps')!r} is not a positive integer")
    features = info.get('features')
    if not isinstance(features, dict):
        rep.problem('meta/info.json: features is not an object')
        return None
    for name, f in features.items():
        for key in ('dtype', 'shape', 'names'):
            if key not in f:
                rep.problem(f'meta/info.json: feature {name!r} has no {key!r}')
        if f.get('dtype') == 'video':
            vinfo = f.get('info') or {}
            for key in ('video.height', 'video.width', 'video.codec', 'video.pix_fmt', 'video.fps'):
                if key not in vinfo:
                    rep.problem(f'meta/info.json: video feature {name!r} info has no {key!r}')
            shape = f.get('shape')
            if shape and vinfo and shape[:2] != [vinfo.get('video.height'), vinfo.get('video.width')]:
                rep.problem(f'meta/info.json: video feature {name!r} shape {shape} disagrees with its info '
                            f"{vinfo.get('video.height')}x{vinfo.get('video.width')}")
    for name, f in layout.INDEX_FEATURES.items():
        if name not in features:
            rep.problem(f'meta/info.json: index feature {name!r} is missing')
        elif features[name].get('dtype') != f['dtype']:
            rep.problem(f"meta/info.json: {name!r} has dtype {features[name].get('dtype')!r}, expected {f['dtype']!r}")
    return info if 'data_path' in info and 'video_path' in info and 'fps' in info else None


def _check_tasks(root: Path, info: dict[str, Any], rep: Report) -> dict[str, int]:
    path = root / layout.TASKS_PATH
    if not path.is_file():
        rep.problem('meta/tasks.parquet is missing')
        return {}
    table = pq.read_table(path)
    if 'task_index' not in table.column_names or '__index_level_0__' not in table.column_names:
        rep.problem(f'meta/tasks.parquet: columns {table.column_names}, expected task_index and the task '
                    'string as the pandas index (__index_level_0__)')
        return {}
    tasks = dict(zip(table.column('__index_level_0__').to_pylist(), table.column('task_index').to_pylist()))
    if sorted(tasks.values()) != list(range(len(tasks))):
        rep.problem(f'meta/tasks.parquet: task_index values {sorted(tasks.values())} are not 0..{len(tasks) - 1}')
    if info.get('total_tasks') != len(tasks):
        rep.problem(f"meta/info.json: total_tasks {info.get('total_tasks')} but meta/tasks.parquet has {len(tasks)}")
    return tasks


def _check_episodes(root: Path, info: dict[str, Any], tasks: dict[str, int], rep: Report) -> list[dict] | None:
    files = sorted(glob.glob(str(root / 'meta/episodes/chunk-*/file-*.parquet')))
    if not files:
        rep.problem('meta/episodes/chunk-*/file-*.parquet: no episode metadata files')
        return None
    rows: list[dict] = []
    for f in files:
        rel = str(Path(f).relative_to(root))
        table = pq.read_table(f)
        missing = [c for c in EPISODE_COLUMNS if c not in table.column_names]
        for key in layout.video_keys(info['features']):
            missing += [f'videos/{key}/{c}' for c in VIDEO_COLUMNS if f'videos/{key}/{c}' not in table.column_names]
        for feature, spec in info['features'].items():
            if spec.get('dtype') in ('string', 'language'):
                continue
            missing += [f'stats/{feature}/{s}' for s in STAT_KEYS if f'stats/{feature}/{s}' not in table.column_names]
        if missing:
            rep.problem(f'{rel}: columns missing: {missing}')
        for row in table.to_pylist():
            row['_file'] = rel
            rows.append(row)
        if any(c not in table.column_names for c in EPISODE_COLUMNS):
            return None
    rows.sort(key=lambda r: r['episode_index'])
    indices = [r['episode_index'] for r in rows]
    if indices != list(range(len(rows))):
        rep.problem(f'meta/episodes: episode_index values {indices[:10]}... are not 0..{len(rows) - 1} without gaps')
    if info.get('total_episodes') != len(rows):
        rep.problem(f"meta/info.json: total_episodes {info.get('total_episodes')} but meta/episodes has {len(rows)} rows")
    expected_from = 0
    for r in rows:
        ep = r['episode_index']
        if r['dataset_from_index'] != expected_from:
            rep.problem(f"episode {ep}: dataset_from_index {r['dataset_from_index']}, expected {expected_from} "
                        '(the end of the previous episode)')
        if r['dataset_to_index'] - r['dataset_from_index'] != r['length']:
            rep.problem(f"episode {ep}: dataset_to_index - dataset_from_index = "
                        f"{r['dataset_to_index'] - r['dataset_from_index']} but length is {r['length']}")
        expected_from = r['dataset_to_index']
        for task in r['tasks'] or []:
            if task not in tasks:
                rep.problem(f'episode {ep}: task {task!r} is not in meta/tasks.parquet')
    if info.get('total_frames') != expected_from:
        rep.problem(f"meta/info.json: total_frames {info.get('total_frames')} but the episodes add up to {expected_from}")
    return rows


def _check_data(root: Path, info: dict[str, Any], episodes: list[dict], rep: Report) -> None:
    fps = info['fps']
    by_file: dict[tuple[int, int], list[dict]] = {}
    for r in episodes:
        by_file.setdefault((r['data/chunk_index'], r['data/file_index']), []).append(r)
    columns = [k for k, f in info['features'].items() if f.get('dtype') not in ('video', 'image')]
    seen_files = set()
    for (chunk, file), eps in sorted(by_file.items()):
        rel = info['data_path'].format(chunk_index=chunk, file_index=file)
        seen_files.add(rel)
        path = root / rel
        if not path.is_file():
            rep.problem(f'{rel}: missing (episodes {[e["episode_index"] for e in eps]} point to it)')
            continue
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            rep.problem(f'{rel}: not a readable parquet file ({exc})')
            continue
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            rep.problem(f'{rel}: columns missing: {missing}')
            continue
        for name in columns:
            spec = info['features'][name]
            typ = table.schema.field(name).type
            want = np.dtype(spec['dtype'])
            leaf = typ.value_type if pa.types.is_list(typ) or pa.types.is_fixed_size_list(typ) else typ
            if leaf.to_pandas_dtype() != want:
                rep.problem(f'{rel}: column {name!r} holds {typ}, info.json says {spec["dtype"]}')
            if pa.types.is_fixed_size_list(typ) and [typ.list_size] != list(spec['shape']):
                rep.problem(f'{rel}: column {name!r} has {typ.list_size} values a row, info.json shape {spec["shape"]}')
        ep_col = table.column('episode_index').to_numpy()
        fi = table.column('frame_index').to_numpy()
        idx = table.column('index').to_numpy()
        ts = table.column('timestamp').to_numpy()
        ti = table.column('task_index').to_numpy()
        expected_rows = sum(e['length'] for e in eps)
        if table.num_rows != expected_rows:
            rep.problem(f'{rel}: {table.num_rows} rows, its episodes add up to {expected_rows}')
        for e in eps:
            sel = ep_col == e['episode_index']
            n = int(sel.sum())
            ep = e['episode_index']
            if n != e['length']:
                rep.problem(f"{rel}: episode {ep} has {n} rows, meta/episodes says length {e['length']}")
                continue
            if not np.array_equal(fi[sel], np.arange(n)):
                rep.problem(f'{rel}: episode {ep} frame_index is not 0..{n - 1} in order')
            if not np.array_equal(idx[sel], np.arange(e['dataset_from_index'], e['dataset_to_index'])):
                rep.problem(f"{rel}: episode {ep} index is not {e['dataset_from_index']}..{e['dataset_to_index'] - 1}")
            if np.abs(ts[sel] - fi[sel] / fps).max() > 1e-4:
                rep.problem(f'{rel}: episode {ep} timestamps are not frame_index / fps')
            if len(set(ti[sel].tolist())) != 1:
                rep.problem(f'{rel}: episode {ep} has several task_index values')
    for path in sorted(glob.glob(str(root / 'data/chunk-*/file-*.parquet'))):
        rel = str(Path(path).relative_to(root))
        if rel not in seen_files:
            rep.note(f'{rel}: no episode points to it (left over; LeRobot would ignore it)')


def _check_videos(root: Path, info: dict[str, Any], episodes: list[dict], rep: Report) -> None:
    fps = info['fps']
    for key in layout.video_keys(info['features']):
        spec = info['features'][key]
        vinfo = spec.get('info', {})
        spans: dict[str, list[tuple[float, float, int]]] = {}
        for e in episodes:
            rel = info['video_path'].format(video_key=key, chunk_index=e[f'videos/{key}/chunk_index'],
                                            file_index=e[f'videos/{key}/file_index'])
            t0, t1 = e[f'videos/{key}/from_timestamp'], e[f'videos/{key}/to_timestamp']
            spans.setdefault(rel, []).append((t0, t1, e['episode_index']))
            if abs((t1 - t0) - e['length'] / fps) > 1.5 / fps:
                rep.problem(f"{rel}: episode {e['episode_index']} spans {t1 - t0:.3f} s, its {e['length']} frames "
                            f'at {fps} fps need {e["length"] / fps:.3f} s')
        for rel, file_spans in sorted(spans.items()):
            path = root / rel
            if not path.is_file():
                rep.problem(f'{rel}: missing (episodes {[s[2] for s in file_spans]} point to it)')
                continue
            try:
                with av.open(str(path)) as container:
                    stream = container.streams.video[0]
                    cc = stream.codec_context
                    duration = float(stream.duration * stream.time_base) if stream.duration else float(
                        container.duration or 0) / 1e6
                    codec = cc.name.replace('libdav1d', 'av1').replace('libaom-av1', 'av1')
                    if vinfo.get('video.codec') and codec != vinfo['video.codec']:
                        rep.problem(f"{rel}: codec {codec}, info.json says {vinfo['video.codec']}")
                    if [cc.height, cc.width] != list(spec['shape'][:2]):
                        rep.problem(f'{rel}: {cc.height}x{cc.width} pixels, info.json shape {spec["shape"]}')
                    if vinfo.get('video.pix_fmt') and cc.pix_fmt != vinfo['video.pix_fmt']:
                        rep.problem(f"{rel}: pixel format {cc.pix_fmt}, info.json says {vinfo['video.pix_fmt']}")
            except av.error.FFmpegError as exc:
                rep.problem(f'{rel}: cannot be opened as video ({exc})')
                continue
            file_spans.sort()
            for (a0, a1, ea), (b0, _, eb) in zip(file_spans, file_spans[1:]):
                if b0 < a1 - 1e-4:
                    rep.problem(f'{rel}: episodes {ea} and {eb} overlap ({a0:.3f}-{a1:.3f} s and {b0:.3f} s)')
            last = file_spans[-1]
            if last[1] > duration + 1.0 / fps:
                rep.problem(f'{rel}: episode {last[2]} ends at {last[1]:.3f} s but the video lasts {duration:.3f} s')


def _check_stats(root: Path, info: dict[str, Any], rep: Report) -> None:
    path = root / layout.STATS_PATH
    if not path.is_file():
        rep.problem('meta/stats.json is missing (normalisation needs it)')
        return
    try:
        stats = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        rep.problem(f'meta/stats.json is not valid JSON: {exc}')
        return
    for name, spec in info['features'].items():
        if spec.get('dtype') in ('string', 'language'):
            continue
        if name not in stats:
            rep.problem(f'meta/stats.json: feature {name!r} has no stats')
            continue
        for stat in STAT_KEYS:
            if stat not in stats[name]:
                rep.problem(f'meta/stats.json: {name!r} has no {stat!r}')
                continue
            shape = np.shape(stats[name][stat])
            if stat == 'count':
                want = (1,)
            elif spec.get('dtype') in ('video', 'image'):
                want = (3, 1, 1)
            else:
                want = tuple(spec['shape'])
            if shape != want:
                rep.problem(f'meta/stats.json: {name!r} {stat!r} has shape {list(shape)}, expected {list(want)}')
        count = stats[name].get('count')
        if spec.get('dtype') not in ('video', 'image') and count is not None and count != [info.get('total_frames')]:
            rep.problem(f"meta/stats.json: {name!r} count {count} but the dataset has {info.get('total_frames')} frames "
                        '(stats not updated after the last episode?)')
