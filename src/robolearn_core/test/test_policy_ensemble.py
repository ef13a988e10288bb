"""PolicyEnsemble: several trained checkpoints' chunks averaged, and the recipes it refuses to mix."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn_core.calibration import ArmCalibration
from robolearn_core.policies.deployed_policy import DeployedPolicy
from robolearn_core.policies.policy_ensemble import PolicyEnsemble, deploy_checkpoints
from tests.harness.tiny_policies import so_checkpoint

pytestmark = pytest.mark.usefixtures('torch_one_thread')


def _observe(policy, rng: np.random.Generator) -> None:
    images = {'cam0': rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)}
    policy.observe(0.0, rng.uniform(-0.5, 0.5, 6), images)


def test_the_ensemble_plays_the_mean_of_its_members_chunks(so_act_pair, so_calibration):
    calibration = ArmCalibration.load(so_calibration)
    ensemble = deploy_checkpoints(','.join(map(str, so_act_pair)), 'cpu', calibration)
    alone = [DeployedPolicy(p, 'cpu', calibration) for p in so_act_pair]
    assert isinstance(ensemble, PolicyEnsemble) and ensemble.cameras == ['cam0']
    for policy in [ensemble, *alone]:
        _observe(policy, np.random.default_rng(3))  # the same observation for each
    chunks = [p.infer(0.0) for p in alone]
    mixed = ensemble.infer(0.0)
    assert not np.allclose(chunks[0].positions, chunks[1].positions, atol=1e-3)  # the members disagree
    np.testing.assert_allclose(mixed.positions, (chunks[0].positions + chunks[1].positions) / 2, atol=1e-5)
    np.testing.assert_allclose(mixed.times, chunks[0].times)
    ensemble.reset()
    assert ensemble.infer(0.0) is None  # no observation since the reset


def test_one_checkpoint_deploys_alone(so_act_pair, so_calibration):
    assert isinstance(deploy_checkpoints(f' {so_act_pair[0]} ', 'cpu', ArmCalibration.load(so_calibration)), DeployedPolicy)
    with pytest.raises(ValueError, match='no checkpoint'):
        deploy_checkpoints(' , ')


def test_samplers_and_mixed_recipes_are_refused(so_act_pair, so_flow_checkpoint, so_calibration, tmp_path):
    calibration = ArmCalibration.load(so_calibration)
    with pytest.raises(ValueError, match='flow policy sampling from fresh noise: .* inference_noise zero'):
        deploy_checkpoints(f'{so_act_pair[0]},{so_flow_checkpoint}', 'cpu', calibration)
    with pytest.raises(ValueError, match='flow policy sampling from episode noise'):
        deploy_checkpoints(f'{so_flow_checkpoint},{so_flow_checkpoint}', 'cpu', calibration,
                           inference={'inference_noise': 'episode'})
    longer = so_checkpoint(tmp_path / 'h12', 'act', steps=10, horizon=12)
    with pytest.raises(ValueError, match='horizon 12 .* horizon 8'):
        deploy_checkpoints(f'{so_act_pair[0]},{longer}', 'cpu', calibration)


def test_samplers_from_the_noise_mean_average_like_regressors(so_flow_checkpoint, so_calibration, tmp_path):
    """With inference_noise zero a flow's chunk is a function of the observation, so two flows' chunks average
    to their mean, and the ensemble repeats itself for the same observation."""
    calibration = ArmCalibration.load(so_calibration)
    other = so_checkpoint(tmp_path / 'flow60', 'flow', steps=60)
    zero = {'inference_noise': 'zero'}
    ensemble = deploy_checkpoints(f'{so_flow_checkpoint},{other}', 'cpu', calibration, inference=zero)
    alone = [DeployedPolicy(p, 'cpu', calibration, inference=zero) for p in (so_flow_checkpoint, other)]
    for policy in [ensemble, *alone]:
        _observe(policy, np.random.default_rng(4))
    chunks = [p.infer(0.0).positions for p in alone]
    mixed = ensemble.infer(0.0).positions
    assert not np.allclose(chunks[0], chunks[1], atol=1e-3)
    np.testing.assert_allclose(mixed, (chunks[0] + chunks[1]) / 2, atol=1e-5)
    np.testing.assert_allclose(ensemble.infer(0.0).positions, mixed, atol=1e-6)  # no fresh draw between calls
