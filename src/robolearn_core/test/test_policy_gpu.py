"""On a CUDA machine: train with bf16 autocast on the GPU, load the checkpoint on CPU and GPU, compare.

Skipped where torch sees no GPU (CI); run on a GPU box with
``python -m pytest --noconftest src/robolearn_core/test/test_policy_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn_core.dataset.synthetic import rotating_arm_dataset
from robolearn_core.policies import load_policy
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


@pytest.mark.parametrize('name', ['mlp', 'act', 'diffusion', 'flow'])
def test_gpu_training_and_cpu_gpu_checkpoints(name, tmp_path):
    source = rotating_arm_dataset(num_episodes=4, length=20, cameras=2)
    summary = fit(source, name, quick_settings(tmp_path, 30, device='cuda'), WITH_IMAGES[name])
    assert summary['bf16'] and summary['data_on_device'] and summary['device'].startswith('cuda')
    obs = {k: source[3][k] for k in ['observation.state', *source.camera_keys]}
    on_cpu = load_policy(summary['last_checkpoint'], device='cpu')
    on_gpu = load_policy(summary['last_checkpoint'], device='cuda')
    assert on_gpu.device.type == 'cuda'
    a = on_cpu.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
    if name in ('mlp', 'act'):  # deterministic: CPU and GPU agree up to float rounding
        b = on_gpu.predict_chunk(obs)
        np.testing.assert_allclose(a, b, atol=1e-2 * np.abs(a).max() + 1e-3)
    again = on_gpu.predict_chunk(obs, generator=torch.Generator('cuda').manual_seed(0))
    same = on_gpu.predict_chunk(obs, generator=torch.Generator('cuda').manual_seed(0))
    assert np.array_equal(again, same)
    on_gpu.use_cuda_graph(True)
    graphed = on_gpu.predict_chunk(obs)
    assert graphed.shape == a.shape and np.isfinite(graphed).all()
    if name in ('mlp', 'act'):
        np.testing.assert_allclose(graphed, on_gpu.predict_chunk(obs, generator=torch.Generator('cuda')), atol=1e-4)


@pytest.mark.parametrize('name', ['diffusion', 'flow'])
def test_episode_noise_under_a_cuda_graph_is_redrawn_at_reset(name, tmp_path):
    """The captured graph reads the episode's noise buffer: it must give what the eager sampler gives from the same
    noise, and a new episode's draw (``reset``, in place) must reach it rather than be baked into the capture."""
    source = rotating_arm_dataset(num_episodes=2, length=20, cameras=1)
    summary = fit(source, name, quick_settings(tmp_path, 5, device='cuda'), WITH_IMAGES[name])
    obs = {k: source[3][k] for k in ['observation.state', *source.camera_keys]}
    policy = load_policy(summary['last_checkpoint'], device='cuda', inference={'inference_noise': 'episode'})
    eager = policy.predict_chunk(obs, generator=torch.Generator('cuda'))  # a generator: the eager path
    policy.use_cuda_graph(True)
    graphed = policy.predict_chunk(obs)
    np.testing.assert_allclose(graphed, eager, atol=1e-3 * np.abs(eager).max() + 1e-4)
    np.testing.assert_array_equal(graphed, policy.predict_chunk(obs))
    policy.reset()
    after = policy.predict_chunk(obs)
    assert not np.allclose(after, graphed)
    np.testing.assert_allclose(after, policy.predict_chunk(obs, generator=torch.Generator('cuda')),
                               atol=1e-3 * np.abs(after).max() + 1e-4)
