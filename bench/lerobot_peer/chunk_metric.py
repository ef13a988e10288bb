"""The offline chunk metric both sides compute, and the held-out episode rule, in plain numpy.

Shared by bench/lerobot_act.py (LeRobot's environment) and bench/offline_chunk_error.py (robolearn's), so
that the two numbers are the same computation on the same frames. No torch, no robolearn, no LeRobot.

Metric: for every evaluated frame t of a held-out episode, the policy predicts a chunk from the observation
at t; row i is compared with the recorded action at t + i, for i < k and t + i inside the episode (the
rows past the episode's end are left out, as LeRobot's ``action_is_pad`` and robolearn's padding mark
them). ``mae[k]`` is the mean absolute error over (frame, row, joint) in dataset units (SO datasets:
degrees for the five joints, 0..100 for the gripper); ``mae_per_joint[k]`` the same per joint.
"""

from __future__ import annotations

import random

import numpy as np

DEFAULT_KS = (1, 10, 30, 100)


def holdout_episodes(episodes: list[int], val_episodes: int = -1, seed: int = 0) -> list[int]:
    """robolearn fit's validation episodes (robolearn_core.training.trainer.split_episodes), reproduced:
    -1 means 10% (at least 1 when there are >= 2 episodes), a seeded random choice, sorted."""
    episodes = sorted(episodes)
    if val_episodes < 0:
        val_episodes = max(1, round(0.1 * len(episodes))) if len(episodes) >= 2 else 0
    if val_episodes >= len(episodes):
        raise ValueError(f'{val_episodes} held-out episodes leave none to train on ({len(episodes)} episodes)')
    return sorted(random.Random(seed).sample(episodes, val_episodes))


def parse_episodes(text: str) -> list[int]:
    """'3,17,20-22' -> [3, 17, 20, 21, 22]."""
    out: list[int] = []
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            a, b = part.split('-', 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


class ChunkErrorAccumulator:
    """Sums |predicted - recorded| over valid rows, for each k and each joint."""

    def __init__(self, ks: tuple[int, ...] = DEFAULT_KS, names: list[str] | None = None) -> None:
        self.ks = tuple(sorted(set(int(k) for k in ks)))
        self.names = names
        self.abs_sum: dict[int, np.ndarray] = {}
        self.count: dict[int, int] = {k: 0 for k in self.ks}
        self.frames = 0
        self.horizon: int | None = None

    def add(self, predicted: np.ndarray, recorded: np.ndarray, valid: np.ndarray) -> None:
        """predicted (H, A) and recorded (T, A) actions from the frame on, valid (T,) bool (inside the episode)."""
        predicted = np.asarray(predicted, dtype=np.float64)
        recorded = np.asarray(recorded, dtype=np.float64)
        valid = np.asarray(valid, dtype=bool)
        self.horizon = predicted.shape[0]
        n = min(predicted.shape[0], recorded.shape[0])
        err = np.abs(predicted[:n] - recorded[:n])
        for k in self.ks:
            m = min(k, n)
            rows = err[:m][valid[:m]]
            self.abs_sum[k] = self.abs_sum.get(k, 0.0) + rows.sum(axis=0)
            self.count[k] += rows.shape[0]
        self.frames += 1

    def result(self) -> dict:
        out: dict = {'frames': self.frames, 'horizon': self.horizon, 'mae': {}, 'mae_per_joint': {}, 'rows': {}}
        for k in self.ks:
            if not self.count[k]:
                continue
            per_joint = self.abs_sum[k] / self.count[k]
            out['mae'][str(k)] = round(float(per_joint.mean()), 4)
            names = self.names or [str(i) for i in range(len(per_joint))]
            out['mae_per_joint'][str(k)] = {n: round(float(v), 4) for n, v in zip(names, per_joint)}
            out['rows'][str(k)] = self.count[k]
        return out
