"""Where flow and diffusion start sampling (``inference_noise``), and inference settings chosen at load time."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn_core.dataset.synthetic import two_path_dataset
from robolearn_core.policies import load_policy, make_config, make_policy, save_policy
from tests.harness.tiny_policies import STATE_ONLY

pytestmark = pytest.mark.usefixtures('torch_one_thread')


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """An untrained flow and diffusion policy (random weights map noise to chunks as trained ones do), saved."""
    source = two_path_dataset(num_episodes=4)
    out = {}
    for name in ('flow', 'diffusion'):
        policy = make_policy(make_config(name, STATE_ONLY[name]), source.features, source.camera_keys, source.stats)
        out[name] = save_policy(policy, tmp_path_factory.mktemp(name))
    return out, {'observation.state': source[5]['observation.state']}


@pytest.mark.parametrize('name', ['flow', 'diffusion'])
def test_episode_noise_makes_chunks_a_function_of_the_observation_until_reset(saved, name):
    dirs, obs = saved
    fresh = load_policy(dirs[name])
    assert not np.allclose(fresh.predict_chunk(obs), fresh.predict_chunk(obs))  # the paper's sampler: a new draw each time
    episode = load_policy(dirs[name], inference={'inference_noise': 'episode'})
    first = episode.predict_chunk(obs)
    np.testing.assert_array_equal(first, episode.predict_chunk(obs))
    episode.reset()
    second = episode.predict_chunk(obs)
    assert not np.allclose(first, second)  # a new episode, a new draw
    np.testing.assert_array_equal(second, episode.predict_chunk(obs))
    zero = load_policy(dirs[name], inference={'inference_noise': 'zero'})
    before = zero.predict_chunk(obs)
    zero.reset()
    np.testing.assert_array_equal(before, zero.predict_chunk(obs))


def test_training_draws_fresh_noise_whatever_the_inference_setting(saved):
    dirs, _ = saved
    policy = load_policy(dirs['flow'], inference={'inference_noise': 'episode'}).train()
    a, b = policy.initial_noise(2, policy.device, None), policy.initial_noise(2, policy.device, None)
    assert not np.allclose(a.numpy(), b.numpy())


def test_only_inference_settings_can_be_changed_at_load(saved):
    dirs, _ = saved
    with pytest.raises(ValueError, match='horizon: not an inference setting'):
        load_policy(dirs['flow'], inference={'horizon': 32})
    with pytest.raises(ValueError, match="inference_noise must be one of fresh, episode, zero, got 'sometimes'"):
        load_policy(dirs['flow'], inference={'inference_noise': 'sometimes'})
    assert load_policy(dirs['diffusion'], inference={'num_inference_steps': '4'}).config.num_inference_steps == 4
