"""Synthetic datasets with known answers, for tests and demos of the policies.

- :func:`two_path_dataset`: a 2D point goes from the bottom to the top around an obstacle at the
  origin; half the demonstrations pass left, half right. The start state is the same, so the
  right answer is bimodal and the average goes through the obstacle.
- :func:`rotating_arm_dataset`: a 6D state and one or more small camera images whose next actions
  follow from the observation, for overfitting and round-trip tests with images.
"""

from __future__ import annotations

import numpy as np

from .in_memory import InMemoryDataset

OBSTACLE_RADIUS = 0.3
DETOUR = 0.6  # |x| of a demonstration where it passes the obstacle (y = 0)


def two_path_dataset(num_episodes: int = 100, length: int = 16, fps: int = 10, seed: int = 0,
                     noise: float = 0.01) -> InMemoryDataset:
    """State = (x, y); action = the next position. Episode e passes left if e is even, else right."""
    rng = np.random.default_rng(seed)
    episodes = []
    for e in range(num_episodes):
        side = -1.0 if e % 2 == 0 else 1.0
        s = np.linspace(0.0, 1.0, length + 1)
        amp = DETOUR * (1 + rng.normal(0, noise * 5))
        path = np.stack([side * amp * np.sin(np.pi * s), -1.0 + 2.0 * s], axis=-1)
        path += rng.normal(0, noise, path.shape)
        path[0] = [0.0, -1.0] + rng.normal(0, noise, 2)
        episodes.append({'observation.state': path[:-1], 'action': path[1:]})
    tasks = ['go left of the obstacle' if e % 2 == 0 else 'go right of the obstacle' for e in range(num_episodes)]
    return InMemoryDataset(episodes, fps=fps, tasks=tasks)


def _render(center: np.ndarray, height: int, width: int, color: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    cy, cx = (center[1] + 1) / 2 * (height - 1), (center[0] + 1) / 2 * (width - 1)
    blob = np.exp(-(((ys - cy) ** 2) + ((xs - cx) ** 2)) / (2 * (0.12 * height) ** 2))
    return (0.1 + 0.8 * blob[None] * color[:, None, None]).astype(np.float32)


def rotating_arm_dataset(num_episodes: int = 6, length: int = 40, fps: int = 30, cameras: int = 1,
                         image_hw: tuple[int, int] = (24, 32), seed: int = 0) -> InMemoryDataset:
    """6 joints moving on circles (sin/cos pairs) from an episode-specific phase; action = next state.

    Each camera shows a blob whose position follows one joint pair, so the images carry the same
    information as the state.
    """
    rng = np.random.default_rng(seed)
    episodes = []
    for _ in range(num_episodes):
        phase = rng.uniform(0, 2 * np.pi)
        speed = 0.1  # fixed, so the chunk is a function of the observation
        theta = phase + speed * np.arange(length + 1)
        offsets = np.array([0.0, 1.0, 2.0])
        angles = theta[:, None] + offsets[None]
        state = np.concatenate([np.sin(angles), np.cos(angles)], axis=1) * 30.0  # "degrees"
        ep = {'observation.state': state[:-1], 'action': state[1:]}
        for c in range(cameras):
            color = np.array([1.0, 0.5, 0.2]) if c == 0 else np.array([0.2, 0.6, 1.0])
            ep[f'observation.images.cam{c}'] = np.stack([
                _render(np.array([np.sin(a[c]), np.cos(a[c])]) * 0.7, *image_hw, color) for a in angles[:-1]])
        episodes.append(ep)
    return InMemoryDataset(episodes, fps=fps, tasks=['rotate'] * num_episodes)
