"""Each policy overfits a tiny recorded dataset (parquet + AV1 mp4 on disk, two cameras) and round-trips
through a checkpoint exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.synthetic import rotating_arm_dataset
from robolearn_core.policies import load_policy
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.usefixtures('torch_one_thread')

STEPS = {'mlp': 200, 'act': 300, 'diffusion': 400, 'flow': 800}
# flow's velocity target amplifies chunk errors near t = 1, so its loss falls more slowly than the others'
OVERRIDES = {**WITH_IMAGES, 'flow': {**WITH_IMAGES['flow'], 'n_obs_steps': 1}}


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    arrays = rotating_arm_dataset(num_episodes=6, length=40, cameras=2, image_hw=(16, 16), seed=0)
    return DatasetReader(arrays.write(tmp_path_factory.mktemp('recorded') / 'rotating_arm'))


def _observation(dataset, index: int) -> dict[str, np.ndarray]:
    frame = dataset[index]
    return {k: frame[k] for k in ['observation.state', *dataset.camera_keys]}


@pytest.mark.slow
@pytest.mark.parametrize('name', ['mlp', 'act', 'diffusion', 'flow'])
def test_overfits_and_round_trips(name, dataset, tmp_path):
    summary = fit(dataset, name, quick_settings(tmp_path, STEPS[name], batch_size=32, lr=3e-3, val_episodes=1),
                  OVERRIDES[name])
    assert summary['val_episodes'] == 1 and summary['train_episodes'] == 5
    assert summary['best_val_loss'] * 10 <= summary['first_val_loss'], summary
    assert (tmp_path / 'loss_curve.png').stat().st_size > 1000
    for sub in ('best', 'last'):
        files = {p.name for p in (tmp_path / 'checkpoints' / sub).iterdir()}
        assert {'config.json', 'model.safetensors', 'normalization.safetensors', 'training_state.pt'} <= files

    policy = load_policy(summary['last_checkpoint'])
    again = load_policy(summary['last_checkpoint'], device=torch.device('cpu'))
    assert policy.config.camera_keys == dataset.camera_keys
    obs = _observation(dataset, 10)
    a = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(3))
    b = again.predict_chunk(obs, generator=torch.Generator().manual_seed(3))
    assert a.shape == (policy.config.horizon, 6) and a.dtype == np.float32
    assert np.array_equal(a, b)
    # predictions are in dataset units (|values| up to 30, normalized ones would be < 3): near the demonstration
    target = np.stack([dataset[10 + i]['action'] for i in range(policy.config.horizon)])
    assert np.abs(a - target).mean() < 6.0, np.abs(a - target).mean()
    meta = json.loads((tmp_path / 'checkpoints' / 'last' / 'config.json').read_text())
    assert meta['policy'] == name and meta['step'] == STEPS[name]
