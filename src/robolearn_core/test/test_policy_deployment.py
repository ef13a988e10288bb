"""Checkpoints carry what deployment needs (fps, names, cameras, units); old ones load and say what they lack."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from robolearn_core.dataset.synthetic import rotating_arm_dataset
from robolearn_core.policies import deployment as dep
from robolearn_core.policies import load_policy, make_config, make_policy, save_policy
from robolearn_core.so_arm.frame_schema import POSITION_NAMES
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.usefixtures('torch_one_thread')


@pytest.fixture(scope='module')
def so_dataset():
    """A 6-joint dataset in degrees with one 24x32 camera, named as an SO recording is (info.json robot_type)."""
    source = rotating_arm_dataset(num_episodes=2, length=12, cameras=1, image_hw=(24, 32))
    for key in ('observation.state', 'action'):
        source.features[key]['names'] = list(POSITION_NAMES)
    source.info = {'robot_type': 'so101_follower'}
    return source


def test_fit_writes_the_deployment_metadata(so_dataset, tmp_path):
    summary = fit(so_dataset, 'mlp', quick_settings(tmp_path, 2), WITH_IMAGES['mlp'])
    deployment = dep.read_deployment(summary['last_checkpoint'])
    assert deployment.fps == 30 and deployment.robot_type == 'so101_follower'
    assert deployment.state_names == deployment.action_names == list(POSITION_NAMES)
    assert deployment.cameras == {'observation.images.cam0': (24, 32)}
    assert deployment.units == 'so_lerobot'  # +-30 "degrees"
    assert load_policy(summary['last_checkpoint']).deployment['units'] == 'so_lerobot'


def test_an_old_checkpoint_loads_and_names_what_it_lacks(so_dataset, tmp_path):
    policy = make_policy(make_config('mlp', WITH_IMAGES['mlp']), so_dataset.features, so_dataset.camera_keys,
                         so_dataset.stats)
    save_policy(policy, tmp_path)  # as before checkpoints carried deployment metadata
    assert 'deployment' not in json.loads((tmp_path / 'config.json').read_text())
    assert load_policy(tmp_path).deployment is None
    with pytest.raises(dep.DeploymentMetadataError) as err:
        dep.read_deployment(tmp_path)
    message = str(err.value)
    assert "['fps', 'action_names', 'units', 'state_names']" in message
    assert 'saved before checkpoints carried it' in message and '--resume' in message and 'overrides=' in message
    # the values given explicitly (e.g. node parameters); the cameras come from the policy config
    names = list(POSITION_NAMES)
    deployment = dep.read_deployment(tmp_path, overrides={'fps': 30, 'units': 'radians', 'action_names': names,
                                                          'state_names': names})
    assert deployment.cameras == {'observation.images.cam0': (24, 32)} and deployment.units == 'radians'
    with pytest.raises(dep.DeploymentMetadataError, match="units 'degrees' is not one of"):
        dep.read_deployment(tmp_path, overrides={'fps': 30, 'units': 'degrees', 'action_names': ['a'], 'state_names': ['s']})
    # ... or added in place from the dataset, weights untouched
    dep.write_deployment(tmp_path, so_dataset)
    assert dep.read_deployment(tmp_path).units == 'so_lerobot'
    assert load_policy(tmp_path).deployment['fps'] == 30


def test_units_are_inferred_only_where_the_data_tells():
    so = [list(POSITION_NAMES)]
    assert dep.infer_units(so, [{'min': np.full(6, -90.0), 'max': np.full(6, 100.0)}]) == 'so_lerobot'
    assert dep.infer_units(so, [{'min': np.full(6, -1.9), 'max': np.full(6, 1.7)}]) == 'radians'
    assert dep.infer_units(so, [{'min': np.full(6, -5.0), 'max': np.full(6, 5.0)}]) is None  # either, small motions
    assert dep.infer_units([['x', 'y']], [{'min': np.zeros(2), 'max': np.full(2, 100.0)}]) is None  # not an SO arm
    assert dep.infer_units([None], [{'min': np.zeros(6), 'max': np.ones(6)}]) is None  # no names at all


def test_a_dataset_without_names_leaves_them_unknown():
    config = make_config('mlp', {'camera_keys': []})
    features = {'observation.state': {'shape': [2], 'names': None}, 'action': {'shape': [2], 'names': None}}
    config = config.bind(features, [])
    source = SimpleNamespace(fps=10, features=features, stats={})
    meta = dep.deployment_metadata(source, config)
    assert meta == {'fps': 10, 'robot_type': None, 'state_names': None, 'action_names': None, 'cameras': {},
                    'units': None}


def test_warm_up_runs_the_guided_path_of_flow_and_diffusion_too(so_flow_checkpoint, so_calibration):
    from robolearn_core.calibration import ArmCalibration
    from robolearn_core.policies.deployed_policy import DeployedPolicy

    deployed = DeployedPolicy(so_flow_checkpoint, 'cpu', ArmCalibration.load(so_calibration))
    calls = []
    predict = deployed.policy.predict_chunk
    deployed.policy.predict_chunk = lambda **kw: calls.append(sorted(kw)) or predict(**kw)  # spy on the real sampler
    deployed.warm_up(2)
    assert calls == [['observation_frames'], ['observation_frames', 'prefix', 'prefix_weights']] * 2
    assert deployed.history.frames(0.0) is None  # the history is left empty
