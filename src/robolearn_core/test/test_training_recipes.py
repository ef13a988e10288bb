"""Each element of the papers' recipes does what it claims: crops and colour jitter change training inputs and not
evaluation inputs, the EMA is what checkpoints hold, frozen BatchNorm does not move, the backbone has its own lr,
a resume keeps its run's settings, and training state never unpickles code."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from robolearn_core.dataset.synthetic import rotating_arm_dataset, two_path_dataset
from robolearn_core.policies import load_policy, make_config, make_policy
from robolearn_core.policies.common.image_transforms import center_crop, prepare_images
from robolearn_core.policies.common.vision import ResNet18
from robolearn_core.policies.recipes import RECIPES
from robolearn_core.training.ema import WeightAverage, ema_decay
from robolearn_core.training.frame_table import FrameTable
from robolearn_core.training.settings import TrainSettings
from robolearn_core.training.trainer import STATE_FILE, fit, read_training_state
from tests.harness.tiny_policies import STATE_ONLY, WITH_IMAGES, quick_settings

pytestmark = pytest.mark.usefixtures('torch_one_thread')
CAMERA = 'observation.images.cam0'


@pytest.fixture(scope='module')
def images():
    return rotating_arm_dataset(num_episodes=3, length=12, cameras=1, image_hw=(24, 32))


def test_random_crop_and_jitter_change_training_inputs_not_evaluation_inputs(images):
    config = make_config('diffusion', {**WITH_IMAGES['diffusion'], 'crop_ratio': 0.75, 'color_jitter': 0.3})
    policy = make_policy(config, images.features, images.camera_keys, images.stats)
    cfg = policy.config
    assert cfg.input_hw(CAMERA) == (18, 24)
    frames = torch.randint(0, 256, (4, 2, 3, 24, 32), dtype=torch.uint8)
    a, b = (prepare_images(frames, cfg, CAMERA, training=True) for _ in range(2))
    assert a.shape == (4, 2, 3, 18, 24) and not torch.equal(a, b)
    e1, e2 = (prepare_images(frames, cfg, CAMERA, training=False) for _ in range(2))
    assert torch.equal(e1, e2)
    torch.testing.assert_close(e1, center_crop(frames, (18, 24)).float() / 255)
    # the network is built for the 18x24 crop; predict_chunk (eval mode) is deterministic
    table = FrameTable.from_source(images, ['observation.state', CAMERA, 'action'], progress=False)
    loss, _ = policy.train().loss(table.batch(torch.arange(4), ['observation.state', CAMERA], 2, 'action', cfg.horizon))
    assert torch.isfinite(loss)
    obs = {k: images[3][k] for k in ('observation.state', CAMERA)}
    first = policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
    policy.reset()
    np.testing.assert_array_equal(first, policy.predict_chunk(obs, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize('name', ['mlp', 'flow'])
def test_state_noise_perturbs_training_states_only(name):
    source = two_path_dataset(num_episodes=4)
    config = make_config(name, {**STATE_ONLY[name], 'state_noise': 0.1, 'n_obs_steps': 2})
    policy = make_policy(config, source.features, [], source.stats)
    batch = {'observation.state': torch.as_tensor(np.stack([source[i]['observation.state'] for i in range(8)]))}
    batch['observation.state'] = batch['observation.state'].unsqueeze(1).expand(-1, policy.config.n_obs_steps, -1)
    clean = policy.normalizer.normalize('observation.state', batch['observation.state'].float())
    noisy = policy.train().observation_inputs(batch)[0] - clean
    assert 0.07 < noisy.std().item() < 0.13
    assert not torch.equal(noisy[:, 0], noisy[:, 1])  # each history frame its own draw: the velocity is noisy too
    torch.testing.assert_close(policy.eval().observation_inputs(batch)[0], clean)
    with pytest.raises(ValueError, match='state_noise must be >= 0'):
        make_config(name, {**STATE_ONLY[name], 'state_noise': -0.1})


def test_weight_average_follows_the_power_schedule():
    source = two_path_dataset(num_episodes=4)
    policy = make_policy(make_config('mlp', STATE_ONLY['mlp']), source.features, [], source.stats)
    average = WeightAverage(policy, max_decay=0.9999)
    weight = next(policy.parameters())
    expected = weight.detach().clone()
    for step in range(3):
        with torch.no_grad():
            weight.add_(1.0)
        average.update(step)
        d = ema_decay(step, 0.9999)
        expected = d * expected + (1 - d) * weight.detach()
    assert ema_decay(0, 0.9999) == 0.0 and ema_decay(10 ** 9, 0.9999) == 0.9999
    torch.testing.assert_close(next(average.averaged.parameters()), expected)
    assert not torch.equal(next(average.averaged.parameters()), weight)


def test_checkpoints_hold_the_ema_weights_and_resume_continues_the_raw_ones(tmp_path):
    source = two_path_dataset(num_episodes=6)
    fit(source, 'flow', quick_settings(tmp_path / 'ema', 20, ema_decay=0.99, save_every=10), STATE_ONLY['flow'])
    saved = load_file(tmp_path / 'ema' / 'checkpoints' / 'last' / 'model.safetensors')
    raw = read_training_state(tmp_path / 'ema' / 'checkpoints' / 'last')['model']
    differ = [k for k, v in saved.items() if v.is_floating_point() and not torch.equal(v, raw[k])]
    assert len(differ) > 10, 'the checkpoint must hold the average, not the raw weights'
    # resuming from step 10 continues the raw weights: the same run as the one that went straight to 20
    fit(source, 'flow', quick_settings(tmp_path / 'ema', 20, ema_decay=0.99,
                                       resume=str(tmp_path / 'ema' / 'checkpoints' / 'step_0000010')), STATE_ONLY['flow'])
    again = read_training_state(tmp_path / 'ema' / 'checkpoints' / 'last')['model']
    for key in differ[:5]:
        torch.testing.assert_close(again[key], raw[key], rtol=1e-4, atol=1e-5)
    # without an EMA the checkpoint is the raw model and the state keeps no copy
    fit(source, 'flow', quick_settings(tmp_path / 'plain', 5, ema_decay=0.0), STATE_ONLY['flow'])
    assert 'model' not in read_training_state(tmp_path / 'plain' / 'checkpoints' / 'last')


def _write_resnet(path, width: int = 8) -> dict[str, torch.Tensor]:
    state = {}
    for k, v in ResNet18(width, norm='batch').state_dict().items():
        state[k] = torch.rand_like(v) + 0.5 if k.endswith('running_var') else (
            torch.randn_like(v) if v.is_floating_point() else v)
    save_file(state, path)
    return state


def test_frozen_batchnorm_does_not_move_and_the_backbone_has_its_own_lr(images, tmp_path):
    weights = _write_resnet(tmp_path / 'r18.safetensors')
    overrides = {**WITH_IMAGES['act'], 'vision_norm': 'frozen_batch', 'pretrained_backbone': str(tmp_path / 'r18.safetensors')}
    summary = fit(images, 'act', quick_settings(tmp_path / 'frozen', 8, batch_size=8, backbone_lr=1e-12), overrides)
    policy = load_policy(summary['last_checkpoint'])
    bn = policy.backbone.layer2[0].bn1
    torch.testing.assert_close(bn.running_mean, weights['layer2.0.bn1.running_mean'], rtol=0, atol=0)
    torch.testing.assert_close(bn.weight, weights['layer2.0.bn1.weight'], rtol=0, atol=0)
    assert not list(bn.parameters())  # statistics and affine are buffers: nothing for the optimizer
    # backbone lr 1e-12: its convolutions stay the pretrained ones, while the rest of ACT trains at lr 1e-3
    torch.testing.assert_close(policy.backbone.conv1.weight, weights['conv1.weight'], rtol=0, atol=1e-6)
    fresh = make_policy(make_config('act', overrides), images.features, images.camera_keys, images.stats)
    assert not torch.allclose(policy.action_head.weight, fresh.action_head.weight)

    # trained BatchNorm (the old default) does move its statistics: what frozen avoids at ACT's small batches
    moving = fit(images, 'act', quick_settings(tmp_path / 'batch', 8, batch_size=8),
                 {**overrides, 'vision_norm': 'batch'})
    moved = load_policy(moving['last_checkpoint']).backbone.layer2[0].bn1.running_mean
    assert not torch.allclose(moved, weights['layer2.0.bn1.running_mean'])


def test_resume_keeps_the_runs_settings_and_refuses_contradictions(tmp_path):
    source = two_path_dataset(num_episodes=4)
    first = quick_settings(tmp_path, 10, save_every=5, lr=2e-3, schedule='constant', warmup_steps=0)
    fit(source, 'mlp', first, STATE_ONLY['mlp'])
    last = str(tmp_path / 'checkpoints' / 'last')
    with pytest.raises(ValueError, match=r'--batch-size 8 \(the run has 64\); --lr 0\.5 \(the run has 0\.002\)'):
        fit(source, None, TrainSettings(str(tmp_path), steps=20, lr=0.5, batch_size=8, resume=last, device='cpu'))
    with pytest.raises(ValueError, match=r'hidden_dims=\[32\] \(the run has \[128, 128\]\)'):
        fit(source, None, TrainSettings(str(tmp_path), steps=20, resume=last, device='cpu'), {'hidden_dims': [32]})
    # unset values come from the run, not from the policy's defaults (mlp's default lr is 1e-3)
    summary = fit(source, None, TrainSettings(str(tmp_path), steps=20, resume=last, device='cpu', workers=0,
                                              log_every=5, progress=False))
    assert summary['steps_done'] == 20
    lrs = [json.loads(line)['lr'] for line in (tmp_path / 'metrics.jsonl').read_text().splitlines() if '"lr"' in line]
    assert len(lrs) == 12 and all(lr == pytest.approx(2e-3) for lr in lrs)


class _RunsCode:
    def __reduce__(self):
        return (print, ('this ran while loading',))


def test_training_state_is_loaded_without_unpickling_code(tmp_path):
    source = two_path_dataset(num_episodes=4)
    fit(source, 'mlp', quick_settings(tmp_path, 2), STATE_ONLY['mlp'])
    last = tmp_path / 'checkpoints' / 'last'
    state = torch.load(last / STATE_FILE, weights_only=True)
    torch.save({**state, 'note': _RunsCode()}, last / STATE_FILE)
    with pytest.raises(ValueError, match='refused: it could run code'):
        fit(source, None, TrainSettings(str(tmp_path), steps=4, resume=str(last), device='cpu'))


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipes_are_valid_configs_and_settings(name, tmp_path):
    recipe = RECIPES[name]
    config = make_config(recipe.policy, recipe.config)
    settings = TrainSettings(str(tmp_path), **recipe.train).resolved(config.train_defaults)
    assert settings.lr > 0 and recipe.source
    if recipe.policy in ('diffusion', 'flow'):
        assert settings.ema_decay == 0.9999 and settings.adam_betas == (0.95, 0.999) and config.crop_ratio < 1
    if recipe.policy == 'act':
        assert config.vision_norm == 'frozen_batch' and settings.backbone_lr == 1e-5 and config.horizon == 100
