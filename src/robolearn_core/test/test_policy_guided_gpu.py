"""On a CUDA machine: guided (real-time-chunking) sampling runs on the GPU, in bf16 weights, and next to a
captured CUDA graph (guided calls take the eager path: the graph has no backward pass).

Skipped where torch sees no GPU (CI); run on a GPU box with
``python -m pytest --noconftest src/robolearn_core/test/test_policy_guided_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn_core.dataset.synthetic import two_path_dataset
from robolearn_core.policies import make_config, make_policy
from tests.harness.tiny_policies import STATE_ONLY

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


@pytest.mark.parametrize('name', ['flow', 'diffusion'])
def test_guided_sampling_on_cuda(name):
    source = two_path_dataset(num_episodes=4)
    policy = make_policy(make_config(name, STATE_ONLY[name]), source.features, source.camera_keys, source.stats)
    policy = policy.to('cuda').eval()
    obs = {'observation.state': np.array([0.0, -1.0], np.float32)}
    prefix = np.stack([np.linspace(0, 0.3, 5), np.linspace(-1, -0.6, 5)], axis=1).astype(np.float32)
    free = policy.predict_chunk(obs, generator=torch.Generator('cuda').manual_seed(0))
    guided = policy.predict_chunk(obs, generator=torch.Generator('cuda').manual_seed(0), prefix=prefix)
    far = np.abs(free[:5] - prefix).max()
    # soft guidance on an untrained network: on the H200 diffusion came to 0.113 of the unguided distance
    assert np.abs(guided[:5] - prefix).max() < 0.15 * far
    policy.use_cuda_graph(True)
    graphed = policy.predict_chunk(obs)  # default options: the captured graph
    again = policy.predict_chunk(obs, prefix=prefix)  # guided: eager, beside the graph
    assert graphed.shape == again.shape and np.isfinite(again).all()
    assert np.abs(again[:5] - prefix).max() < 0.15 * far
    half = policy.set_inference_dtype(torch.bfloat16)
    guided_half = half.predict_chunk(obs, generator=torch.Generator('cuda').manual_seed(0), prefix=prefix)
    assert np.abs(guided_half[:5] - prefix).max() < 0.2 * far
