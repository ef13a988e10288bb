"""Real-time chunking with trained tiny flow and diffusion policies: the guided chunk follows a prefix the
policy would not have produced, and continues it without a seam.

The two-path task: from the start, half the demonstrations pass an obstacle on the left, half on the
right. A prefix from the other side than the unguided sample is a plan the policy would not have made
from this noise; guidance must bring the chunk's first steps to it and carry the rest along.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn_core.control.rtc import soft_mask_weights
from robolearn_core.dataset.synthetic import two_path_dataset
from robolearn_core.policies import load_policy
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import STATE_ONLY, quick_settings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('torch_one_thread')]

HORIZON = 16
STEPS = {'flow': 400, 'diffusion': 600}
SAMPLES = 24
START = torch.tensor([0.0, -1.0])


@pytest.fixture(scope='module')
def dataset():
    return two_path_dataset(num_episodes=40, length=HORIZON, seed=0)


@pytest.fixture(scope='module', params=['flow', 'diffusion'])
def policy(request, dataset, tmp_path_factory):
    name = request.param
    overrides = {**STATE_ONLY[name], 'horizon': HORIZON, 'down_dims': [16, 32]}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the function-scoped torch_one_thread fixture starts after this one
    try:
        summary = fit(dataset, name, quick_settings(tmp_path_factory.mktemp(name), STEPS[name], lr=3e-3), overrides)
    finally:
        torch.set_num_threads(threads)
    return load_policy(summary['last_checkpoint'])


def sample(policy, states: torch.Tensor, seed: int, **options) -> np.ndarray:
    batch = {'observation.state': states.reshape(-1, 1, 2)}
    return policy.sample_actions(batch, generator=torch.Generator().manual_seed(seed), **options).numpy()


def largest_steps(chunks: np.ndarray) -> np.ndarray:
    """Per chunk: the largest step-to-step motion of any joint."""
    return np.abs(np.diff(chunks, axis=1)).max(axis=(1, 2))


def own_motion(policy) -> float:
    """The policy's own step-to-step motion: the median over unguided chunks of each one's largest step
    (the last step left out: the tiny policies learn the episode end poorly)."""
    return float(np.median(largest_steps(sample(policy, START.expand(SAMPLES, 2), seed=3)[:, :-1])))


def seams(guided: np.ndarray, frozen: int, k: int) -> np.ndarray:
    """Per chunk: the largest step from the end of the frozen steps to just past the prefix, where the
    chunk leaves the prefix for its own plan (inpainting turns back there, 2-5x the policy's own motion)."""
    return largest_steps(guided[:, frozen - 1:k + 2])


def assert_no_seam(ratio: np.ndarray) -> None:
    """Seams against the policy's own motion: typically within it, never twice it."""
    report = f'seam / own motion: median {np.median(ratio):.2f}, max {ratio.max():.2f}'
    assert np.median(ratio) <= 1.0 and ratio.max() <= 2.0, report


def test_guided_chunk_follows_a_prefix_of_the_other_side(policy, dataset):
    k, frozen = 8, 5
    free = sample(policy, START.expand(SAMPLES, 2), seed=0)
    left, right = (dataset.episode_arrays(e, ['action'])['action'] for e in (0, 1))  # episode 0 passes left
    prefix = np.stack([left[:k] if chunk[HORIZON // 2, 0] > 0 else right[:k] for chunk in free])
    weights = soft_mask_weights(k, frozen)
    guided = sample(policy, START.expand(SAMPLES, 2), seed=0, prefix=prefix, prefix_weights=weights)
    free_error = np.abs(free[:, :frozen] - prefix[:, :frozen]).max(axis=(1, 2))
    guided_error = np.abs(guided[:, :frozen] - prefix[:, :frozen]).max(axis=(1, 2))
    assert free_error.min() > 0.2, 'the unguided samples must be on the other side than the prefix'
    followed = guided_error < 0.1
    report = f'followed {followed.sum()}/{SAMPLES}, guided error median {np.median(guided_error):.3f}'
    assert followed.mean() >= 0.6 and np.median(guided_error) < 0.1, report
    # the chunks that followed stay on the prefix's side after it, without a seam at its end
    side = np.sign(prefix[:, HORIZON // 2 - 4, 0])
    assert np.all(np.sign(guided[followed, HORIZON // 2, 0]) == side[followed]), report
    assert_no_seam(seams(guided[followed], frozen, k) / own_motion(policy))
    # weights 0: the unguided sample
    unguided = sample(policy, START.expand(SAMPLES, 2), seed=0, prefix=prefix, prefix_weights=np.zeros(k))
    np.testing.assert_allclose(unguided, free, atol=1e-5)


def test_guided_chunk_continues_the_policys_own_previous_chunk_without_a_seam(policy):
    """The deployment case: the previous chunk was computed at the start, two of its steps ran, the new
    observation is where they led, and the rest of the old chunk's overlap is the prefix."""
    k, frozen = 8, 3
    old = sample(policy, START.expand(SAMPLES, 2), seed=1)
    states = torch.as_tensor(old[:, 1])
    prefix = old[:, 2:2 + k]
    free = sample(policy, states, seed=2)
    guided = sample(policy, states, seed=2, prefix=prefix, prefix_weights=soft_mask_weights(k, frozen))
    free_error = np.abs(free[:, :frozen] - prefix[:, :frozen]).max(axis=(1, 2))
    guided_error = np.abs(guided[:, :frozen] - prefix[:, :frozen]).max(axis=(1, 2))
    assert np.median(guided_error) < 0.75 * np.median(free_error)
    assert_no_seam(seams(guided, frozen, k) / own_motion(policy))

