"""`dataset plot`: one episode's joint curves and a contact sheet of its camera frames, as PNG.

Why: the first look at a recording (did the gripper close, is a camera black, is the action lagging the
state) should not need a notebook.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.reader import DatasetReader  # noqa: E402


def _vector_keys(reader: DatasetReader) -> list[str]:
    return [k for k, f in reader.features.items()
            if f['dtype'] in ('float32', 'float64') and f['shape'] != [1] and k not in reader.camera_keys]


def plot_episode(root: Path, episode: int, out: Path | None = None, frames_per_camera: int = 8) -> list[Path]:
    """Write ``episode_<N>_joints.png`` and (with cameras) ``episode_<N>_frames.png``; return their paths."""
    reader = DatasetReader(root, episodes=[episode])
    out = out or root / 'plots'
    out.mkdir(parents=True, exist_ok=True)
    start, end = reader.episode_range(0)
    t = reader.columns['timestamp'][start:end]
    written = []

    keys = _vector_keys(reader)
    if not keys:
        raise DatasetError(f'{root}: no vector features to plot')
    dims = max(reader.features[k]['shape'][0] for k in keys)
    names = reader.features[keys[0]].get('names') or [f'dim {i}' for i in range(dims)]
    cols = 3
    rows = (dims + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), sharex=True, squeeze=False)
    for d in range(rows * cols):
        ax = axes[d // cols][d % cols]
        if d >= dims:
            ax.axis('off')
            continue
        for key in keys:
            if d < reader.features[key]['shape'][0]:
                ax.plot(t, reader.columns[key][start:end, d], label=key, linewidth=1.2)
        ax.set_title(names[d] if d < len(names) else f'dim {d}', fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel('time (s)')
    task = reader.tasks[int(reader.columns['task_index'][start])]
    fig.suptitle(f'{root.name} episode {episode}: {task} ({end - start} frames)', fontsize=10)
    fig.tight_layout()
    path = out / f'episode_{episode}_joints.png'
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)

    if reader.camera_keys:
        n = min(frames_per_camera, end - start)
        picks = np.round(np.linspace(0, end - start - 1, n)).astype(int)
        fig, axes = plt.subplots(len(reader.camera_keys), n, figsize=(1.8 * n, 1.6 * len(reader.camera_keys)),
                                 squeeze=False)
        for r, key in enumerate(reader.camera_keys):
            images = reader.episode_frames_uint8(key, 0, picks)
            for c, (img, f) in enumerate(zip(images, picks)):
                ax = axes[r][c]
                ax.imshow(img)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f'frame {f}', fontsize=7)
                if c == 0:
                    ax.set_ylabel(key.split('.')[-1], fontsize=8)
        fig.tight_layout()
        path = out / f'episode_{episode}_frames.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    reader.close()
    return written
