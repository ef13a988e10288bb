"""Where the cube and the place target are in an episode, as a pure function of the episode's seed.

Seed ranges (disjoint, so a policy is never evaluated on a layout it was trained on):
training and demonstrations use seeds 0..4999, evaluation uses 5000..9999 (``evaluate --seed 5000``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRAIN_SEEDS = range(0, 5000)
EVAL_SEEDS = range(5000, 10000)

#: Cube start: polar coordinates about the arm's base (m, rad), on the arm's left; yaw about z (rad).
CUBE_RADIUS = (0.17, 0.23)
CUBE_ANGLE = (np.radians(28.0), np.radians(42.0))
CUBE_YAW = (-np.pi / 4, np.pi / 4)
#: Target: on the arm's right, mirrored.
TARGET_RADIUS = (0.18, 0.22)
TARGET_ANGLE = (np.radians(-42.0), np.radians(-28.0))


@dataclass(frozen=True)
class EpisodeLayout:
    seed: int
    cube_xy: tuple[float, float]
    cube_yaw: float
    target_xy: tuple[float, float]


def seed_split(seed: int) -> str:
    """'train' or 'eval': which documented range a seed belongs to (ValueError outside both)."""
    if seed in TRAIN_SEEDS:
        return 'train'
    if seed in EVAL_SEEDS:
        return 'eval'
    raise ValueError(
        f'seed {seed} is outside the documented ranges: training {TRAIN_SEEDS.start}..{TRAIN_SEEDS.stop - 1}, '
        f'evaluation {EVAL_SEEDS.start}..{EVAL_SEEDS.stop - 1}'
    )


def sample_layout(seed: int) -> EpisodeLayout:
    """The layout of episode ``seed``: the same seed always gives the same layout."""
    seed_split(seed)
    rng = np.random.default_rng(seed)
    r, a = rng.uniform(*CUBE_RADIUS), rng.uniform(*CUBE_ANGLE)
    yaw = rng.uniform(*CUBE_YAW)
    tr, ta = rng.uniform(*TARGET_RADIUS), rng.uniform(*TARGET_ANGLE)
    return EpisodeLayout(
        seed=seed,
        cube_xy=(float(r * np.cos(a)), float(r * np.sin(a))),
        cube_yaw=float(yaw),
        target_xy=(float(tr * np.cos(ta)), float(tr * np.sin(ta))),
    )
