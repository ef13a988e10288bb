"""The loss-curve PNG written next to a run's checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_loss_curve(path: str | Path, train: Sequence[tuple[int, float]], val: Sequence[tuple[int, float]],
                     title: str) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train), label='train', linewidth=1)
    if val:
        ax.plot(*zip(*val), 'o-', label='validation (held-out episodes)', markersize=3)
    ax.set_xlabel('step')
    ax.set_ylabel('loss')
    if all(v > 0 for _, v in [*train, *val]) and (train or val):
        ax.set_yscale('log')
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
