"""A task whose correct action is visible only in the camera image: policies that read the image learn it, and the
same policy without the camera cannot (so the image path really carries information to the action)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn_core.dataset.in_memory import InMemoryDataset
from robolearn_core.policies import load_policy
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.usefixtures('torch_one_thread')
CAMERA = 'observation.images.cam0'
STEPS = {'act': 150, 'diffusion': 400, 'flow': 200}
# one observation step: half the backbone work of the default two, and the side shows in every frame
OVERRIDES = {'act': WITH_IMAGES['act'], 'diffusion': {**WITH_IMAGES['diffusion'], 'n_obs_steps': 1},
             'flow': {**WITH_IMAGES['flow'], 'n_obs_steps': 1}}


def image_only_task(num_episodes: int, length: int = 10, seed: int = 0) -> tuple[InMemoryDataset, list[float]]:
    """Each episode: a bright square in the left or the right half of a 36x36 image (its row jitters per frame);
    the action is (+1, -1) for right and (-1, +1) for left, every frame. The state is noise of one distribution
    for both sides, so nothing but the image tells the side.

    36 px, not less: the ResNet's map is ~1/32 of the image (here 2x2), and a spatial softmax over a 1x1 map
    (16 or 32 px) is a constant, which leaves diffusion and flow nothing to see."""
    rng = np.random.default_rng(seed)
    episodes, sides = [], []
    for e in range(num_episodes):
        side = 1.0 if (e + seed) % 2 else -1.0
        images = np.full((length, 3, 36, 36), 0.2, np.float32)
        for t in range(length):
            row, col = rng.integers(2, 25), (rng.integers(20, 27) if side > 0 else rng.integers(2, 9))
            images[t, :, row:row + 9, col:col + 7] = 0.9
        episodes.append({'observation.state': rng.normal(0, 0.1, (length, 2)).astype(np.float32),
                         'action': np.tile([side, -side], (length, 1)).astype(np.float32) + rng.normal(0, 0.01, (length, 2)),
                         CAMERA: images})
        sides.append(side)
    return InMemoryDataset(episodes, fps=10, tasks=['follow the square'] * num_episodes), sides


@pytest.fixture(scope='module')
def task():
    return image_only_task(24)[0], image_only_task(6, seed=101)


def _side_error(checkpoint: str, held_out: tuple[InMemoryDataset, list[float]]) -> float:
    """Mean |predicted - true| of the action's first component over held-out episodes' first frames."""
    policy = load_policy(checkpoint)
    source, sides = held_out
    errors = []
    for position, side in enumerate(sides):
        frame = source[position * 10]
        policy.reset()
        chunk = policy.predict_chunk({k: frame[k] for k in ('observation.state', CAMERA) if k in frame},
                                     generator=torch.Generator().manual_seed(position))
        errors.append(np.abs(chunk[:, 0] - side).mean())
    return float(np.mean(errors))


@pytest.mark.slow
@pytest.mark.parametrize('name', ['act', 'diffusion', 'flow'])
def test_policies_that_read_the_camera_learn_what_only_the_camera_shows(name, task, tmp_path):
    train, held_out = task
    summary = fit(train, name, quick_settings(tmp_path, STEPS[name], batch_size=32, lr=3e-3), OVERRIDES[name])
    assert _side_error(summary['last_checkpoint'], held_out) < 0.35


def test_without_the_camera_the_same_policy_cannot(task, tmp_path):
    train, held_out = task
    summary = fit(train, 'act', quick_settings(tmp_path, STEPS['act'], batch_size=32, lr=3e-3),
                  {**WITH_IMAGES['act'], 'camera_keys': []})
    assert _side_error(summary['last_checkpoint'], held_out) > 0.7  # it can only answer the average (0)
