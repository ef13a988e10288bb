"""Configs, checkpoints and inputs that do not fit fail with messages naming what is wrong;
the shared pieces (schedules, observation history, guided flow and diffusion sampling) do what they promise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from robolearn_core.dataset.in_memory import InMemoryDataset
from robolearn_core.dataset.synthetic import rotating_arm_dataset, two_path_dataset
from robolearn_core.policies import (
    ACTConfig,
    DiffusionConfig,
    FlowConfig,
    MLPConfig,
    load_policy,
    make_config,
    make_policy,
    save_policy,
)
from robolearn_core.policies.common.schedules import DDPMSchedule
from robolearn_core.policies.common.vision import ResNet18, load_backbone_weights
from robolearn_core.training.frame_table import FrameTable
from tests.harness.tiny_policies import STATE_ONLY, WITH_IMAGES


def _build(name, source, overrides):
    config = make_config(name, overrides)
    return make_policy(config, source.features, source.camera_keys, source.stats)


@pytest.fixture(scope='module')
def images():
    return rotating_arm_dataset(num_episodes=2, length=12, cameras=1, image_hw=(24, 32))


def test_config_invariants():
    with pytest.raises(ValueError, match='horizon'):
        DiffusionConfig(horizon=10, down_dims=(32, 64, 128))
    with pytest.raises(ValueError, match='divisible by n_heads'):
        ACTConfig(d_model=100, n_heads=8)
    with pytest.raises(ValueError, match='n_obs_steps'):
        ACTConfig(n_obs_steps=2)
    with pytest.raises(ValueError, match='num_inference_steps'):
        DiffusionConfig(num_inference_steps=200, num_train_timesteps=100)
    with pytest.raises(ValueError, match='action_norm'):
        MLPConfig(action_norm='zscore')
    with pytest.raises(ValueError, match='no field'):
        make_config('flow', {'stepz': 3})
    assert ACTConfig().horizon == 100 and ACTConfig().kl_weight == 10
    assert DiffusionConfig().num_inference_steps == 10 and FlowConfig().num_inference_steps == 10


def test_dataset_missing_a_camera_is_named():
    source = two_path_dataset(num_episodes=4)
    with pytest.raises(ValueError, match='observation.images.front'):
        _build('act', source, {'camera_keys': ['observation.images.front']})


def test_dataset_missing_state_is_named(images):
    episodes = [{'action': np.zeros((5, 6)), 'observation.images.cam0': np.zeros((5, 3, 8, 8))}]
    source = InMemoryDataset(episodes, fps=30)
    with pytest.raises(ValueError, match="observation.state"):
        _build('mlp', source, {})


def test_dataset_missing_stats_are_named(images):
    stats = {k: dict(v) for k, v in images.stats.items()}
    del stats['action']['min']
    config = make_config('diffusion', WITH_IMAGES['diffusion'])
    with pytest.raises(ValueError, match="'action' lack 'min'"):
        make_policy(config, images.features, images.camera_keys, stats)


def test_checkpoint_not_matching_its_config_is_named(images, tmp_path):
    policy = _build('mlp', images, WITH_IMAGES['mlp'])
    save_policy(policy, tmp_path)
    meta = json.loads((tmp_path / 'config.json').read_text())
    meta['config']['hidden_dims'] = [64, 128]
    (tmp_path / 'config.json').write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r'wrong shapes: head\.0\.weight'):
        load_policy(tmp_path)

    meta['config']['hidden_dims'] = [128, 128]
    (tmp_path / 'config.json').write_text(json.dumps(meta))
    weights = load_file(tmp_path / 'model.safetensors')
    del weights['head.6.bias']
    save_file(weights, tmp_path / 'model.safetensors')
    with pytest.raises(ValueError, match=r'missing weights: head\.6\.bias'):
        load_policy(tmp_path)

    meta['config']['camera_keys'] = []
    meta['config']['image_shapes'] = {}
    (tmp_path / 'config.json').write_text(json.dumps(meta))
    with pytest.raises(ValueError, match='no place for: encoder.backbone'):
        load_policy(tmp_path)
    with pytest.raises(FileNotFoundError, match='config.json'):
        load_policy(tmp_path / 'nothing')


def test_observation_missing_a_camera_is_named(images):
    policy = _build('act', images, WITH_IMAGES['act'])
    with pytest.raises(KeyError, match='observation.images.cam0'):
        policy.predict_chunk({'observation.state': np.zeros(6, np.float32)})
    with pytest.raises(ValueError, match='shape'):
        policy.predict_chunk({'observation.state': np.zeros(5, np.float32),
                              'observation.images.cam0': np.zeros((3, 24, 32), np.float32)})


def test_observation_history_is_kept_and_reset(images):
    config = make_config('diffusion', {**WITH_IMAGES['diffusion'], 'n_obs_steps': 2})
    policy = make_policy(config, images.features, images.camera_keys, images.stats)
    first = {k: images[0][k] for k in ('observation.state', 'observation.images.cam0')}
    second = {k: images[5][k] for k in ('observation.state', 'observation.images.cam0')}
    batch = policy.observation_batch(first)
    assert batch['observation.state'].shape == (1, 2, 6)
    assert torch.equal(batch['observation.state'][0, 0], batch['observation.state'][0, 1])
    batch = policy.observation_batch(second)
    assert torch.equal(batch['observation.state'][0, 0], torch.as_tensor(first['observation.state']))
    assert torch.equal(batch['observation.state'][0, 1], torch.as_tensor(second['observation.state']))
    policy.reset()
    batch = policy.observation_batch(second)
    assert torch.equal(batch['observation.state'][0, 0], batch['observation.state'][0, 1])


@pytest.mark.parametrize('name', ['flow', 'diffusion'])
def test_guided_sampling_follows_the_prefix(name):
    """Untrained networks: guidance brings the first steps to the prefix; weights 0 give the unguided sample.
    Trained policies: test_policy_guided.py."""
    source = two_path_dataset(num_episodes=4)
    # seeded: the weights come from torch's global generator, so otherwise from whatever tests ran first in this
    # process; over 200 untrained diffusion nets the ratio below is 0.06 on average, and a few exceed 0.1
    torch.manual_seed(0)
    policy = _build(name, source, STATE_ONLY[name])
    obs = {'observation.state': np.array([0.0, -1.0], np.float32)}
    prefix = np.stack([np.linspace(0, 0.3, 5), np.linspace(-1, -0.6, 5)], axis=1).astype(np.float32)
    chunk = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0), prefix=prefix)
    free = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
    assert chunk.shape == (16, 2)
    far = np.abs(free[:5] - prefix).max()
    assert far > 0.5
    # guidance pulls: a weight-1 step ends within a few percent of the distance the unguided one was (diffusion:
    # DDIM clips x0 to the dataset range, and this prefix starts on its edge)
    assert np.abs(chunk[:5] - prefix).max() < {'flow': 0.05, 'diffusion': 0.1}[name] * far
    zero = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0), prefix=prefix, prefix_weights=np.zeros(5))
    np.testing.assert_allclose(zero, free, atol=1e-5)
    with pytest.raises(ValueError, match='prefix'):
        policy.predict_chunk({'observation.state': np.zeros(2, np.float32)}, prefix=np.zeros((17, 2)))
    with pytest.raises(ValueError, match='prefix_weights'):
        policy.predict_chunk(obs, prefix=prefix, prefix_weights=np.full(5, 2.0))


def test_explicit_observation_frames_bypass_the_per_call_history(images):
    config = make_config('diffusion', {**WITH_IMAGES['diffusion'], 'n_obs_steps': 2})
    policy = make_policy(config, images.features, images.camera_keys, images.stats)
    frames = [{k: images[i][k] for k in ('observation.state', 'observation.images.cam0')} for i in (3, 4)]
    batch = policy.observation_batch(frames=frames)
    assert torch.equal(batch['observation.state'][0, 0], torch.as_tensor(frames[0]['observation.state']))
    assert torch.equal(batch['observation.state'][0, 1], torch.as_tensor(frames[1]['observation.state']))
    assert not policy._history  # the policy's own history is neither used nor changed
    chunk = policy.predict_chunk(observation_frames=frames, generator=torch.Generator().manual_seed(0))
    assert chunk.shape == (8, 6)
    with pytest.raises(ValueError, match='n_obs_steps=2'):
        policy.predict_chunk(observation_frames=frames[:1])
    with pytest.raises(ValueError, match='observation or observation_frames'):
        policy.predict_chunk()


def test_squared_cosine_schedule_and_ddim_inverts_noise():
    sched = DDPMSchedule(100)
    abar = sched.alphas_cumprod
    assert abar[0] > 0.99 and abar[-1] < 1e-3 and torch.all(abar[1:] < abar[:-1])
    assert sched.ddim_timesteps(10) == [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    x0 = torch.rand(4, 16, 2) * 1.6 - 0.8
    noise = torch.randn_like(x0)
    x = sched.add_noise(x0, noise, torch.full((4,), 90))
    steps = sched.ddim_timesteps(10)
    for i, t in enumerate(steps):  # an oracle epsilon brings DDIM back to x0 exactly
        abar_t = abar[t]
        eps = (x - abar_t.sqrt() * x0) / (1 - abar_t).sqrt()
        x = sched.ddim_step(eps, t, steps[i + 1] if i + 1 < len(steps) else -1, x)
    torch.testing.assert_close(x, x0, atol=1e-4, rtol=0)


def test_backbone_loads_torchvision_style_weights(tmp_path):
    source = ResNet18(width=8, norm='batch')
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in source.state_dict().items()}
    state['fc.weight'] = torch.zeros(10, 64)
    save_file(state, tmp_path / 'r18.safetensors')
    target = ResNet18(width=8, norm='frozen_batch')
    load_backbone_weights(target, tmp_path / 'r18.safetensors')
    torch.testing.assert_close(target.layer3[1].conv2.weight, state['layer3.1.conv2.weight'])
    torch.testing.assert_close(target.layer3[1].bn2.running_var, state['layer3.1.bn2.running_var'])
    # BatchNorm weights into GroupNorm layers: an error naming the first such layer, not a silent partial load
    with pytest.raises(ValueError, match='at layer bn1, which is GroupNorm'):
        load_backbone_weights(ResNet18(width=8, norm='group'), tmp_path / 'r18.safetensors')
    with pytest.raises(ValueError, match='do not fit'):
        load_backbone_weights(ResNet18(width=16, norm='batch'), tmp_path / 'r18.safetensors')
    assert ResNet18(width=8)(torch.zeros(1, 3, 96, 128)).shape[-2:] == ResNet18.feature_size(96, 128)


def test_frame_table_pads_at_episode_ends():
    source = two_path_dataset(num_episodes=3, length=16)
    table = FrameTable.from_source(source, ['observation.state', 'action'], progress=False)
    index = torch.tensor([0, 15, 16, 40])
    batch = table.batch(index, ['observation.state'], 2, 'action', 4)
    assert batch['observation.state'].shape == (4, 2, 2) and batch['action'].shape == (4, 4, 2)
    # history before an episode's first frame repeats it
    assert torch.equal(batch['observation.state'][2, 0], batch['observation.state'][2, 1])
    # the chunk at an episode's last frame is that action, then padding
    assert batch['action_is_pad'][1].tolist() == [False, True, True, True]
    assert torch.equal(batch['action'][1, 3], torch.as_tensor(source[15]['action']))
    ref = source.subset([0, 1, 2])
    ref.select([0, 1, 2], {'action': [0, 0.1, 0.2, 0.3]})
    frame = ref[40]
    np.testing.assert_array_equal(batch['action'][3].numpy(), frame['action'])
    np.testing.assert_array_equal(batch['action_is_pad'][3].numpy(), frame['action_is_pad'])


def test_temporal_conv_inference_path_matches_conv1d():
    from robolearn_core.policies.common.unet1d import TemporalConv
    conv = TemporalConv(8, 16, 5, padding=2)
    x = torch.randn(3, 8, 12)
    expected = torch.nn.functional.conv1d(x, conv.weight, conv.bias, padding=2)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


def test_bfloat16_inference_stays_close_to_float32(images):
    for name in ('act', 'diffusion', 'flow'):
        policy = _build(name, images, WITH_IMAGES[name]).eval()
        obs = {k: images[3][k] for k in ('observation.state', 'observation.images.cam0')}
        full = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
        policy.reset()
        half = policy.set_inference_dtype(torch.bfloat16).predict_chunk(obs, generator=torch.Generator().manual_seed(0))
        assert half.dtype == np.float32
        assert np.abs(full - half).max() < 0.05 * np.abs(full).max() + 0.5, name
