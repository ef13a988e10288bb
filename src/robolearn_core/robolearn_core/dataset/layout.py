"""LeRobot v3.0 on-disk layout: paths, default info.json fields and feature descriptions.

Why one module: the writer, the reader and the validator must agree on every name and default, and the
facts come from shared/reference/lerobot_dataset_v3.md (read off datasets LeRobot wrote).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CODEBASE_VERSION = 'v3.0'
INFO_PATH = 'meta/info.json'
STATS_PATH = 'meta/stats.json'
TASKS_PATH = 'meta/tasks.parquet'
EPISODES_PATH = 'meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet'
DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet'
VIDEO_PATH = 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4'
DEFAULT_CHUNKS_SIZE = 1000
DEFAULT_DATA_FILES_SIZE_MB = 100
DEFAULT_VIDEO_FILES_SIZE_MB = 200

#: columns every frame has, with their info.json description (LeRobot's order)
INDEX_FEATURES: dict[str, dict[str, Any]] = {
    'timestamp': {'dtype': 'float32', 'shape': [1], 'names': None},
    'frame_index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'episode_index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'index': {'dtype': 'int64', 'shape': [1], 'names': None},
    'task_index': {'dtype': 'int64', 'shape': [1], 'names': None},
}

#: info.json keys LeRobot writes, in its order
INFO_KEYS = (
    'codebase_version', 'robot_type', 'total_episodes', 'total_frames', 'total_tasks', 'chunks_size',
    'data_files_size_in_mb', 'video_files_size_in_mb', 'fps', 'splits', 'data_path', 'video_path', 'features',
)


def video_feature(height: int, width: int, fps: int, codec: str) -> dict[str, Any]:
    """info.json description of one camera stored as video (yuv420p, 3 channels)."""
    return {
        'dtype': 'video',
        'shape': [height, width, 3],
        'names': ['height', 'width', 'channels'],
        'info': {
            'video.height': height,
            'video.width': width,
            'video.codec': codec,
            'video.pix_fmt': 'yuv420p',
            'video.is_depth_map': False,
            'video.fps': fps,
            'video.channels': 3,
            'has_audio': False,
        },
    }


def vector_feature(names: list[str], dtype: str = 'float32') -> dict[str, Any]:
    """info.json description of a vector feature such as observation.state or action."""
    return {'dtype': dtype, 'shape': [len(names)], 'names': list(names)}


def new_info(fps: int, robot_type: str, features: dict[str, dict[str, Any]], **sizes: int) -> dict[str, Any]:
    """A fresh info.json for an empty dataset; ``features`` are the user features (index columns added)."""
    return {
        'codebase_version': CODEBASE_VERSION,
        'robot_type': robot_type,
        'total_episodes': 0,
        'total_frames': 0,
        'total_tasks': 0,
        'chunks_size': sizes.get('chunks_size', DEFAULT_CHUNKS_SIZE),
        'data_files_size_in_mb': sizes.get('data_files_size_in_mb', DEFAULT_DATA_FILES_SIZE_MB),
        'video_files_size_in_mb': sizes.get('video_files_size_in_mb', DEFAULT_VIDEO_FILES_SIZE_MB),
        'fps': fps,
        'splits': {},
        'data_path': DATA_PATH,
        'video_path': VIDEO_PATH,
        'features': {**features, **INDEX_FEATURES},
    }


def video_keys(features: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, f in features.items() if f.get('dtype') == 'video']


def image_keys(features: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, f in features.items() if f.get('dtype') in ('video', 'image')]


def next_chunk_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """The (chunk, file) index after this one: a new chunk folder every ``chunks_size`` files."""
    file += 1
    if file >= chunks_size:
        return chunk + 1, 0
    return chunk, file


def read_json(path: Path) -> Any:
    with open(path, encoding='utf-8') as f:
        return json.load(f)
