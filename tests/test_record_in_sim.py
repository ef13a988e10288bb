"""Record in simulation through the real graph: world (simulated Feetech buses), both so100_drivers, teleop,
two sim cameras and recorder_node; the dataset validates, reads back frame for frame and has LeRobot's layout."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from std_srvs.srv import Trigger

from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.validate import validate
from robolearn_eval.sim_graph import SimGraph, bus_paths
from tests.harness.lerobot_fixture import assert_lerobot_layout

REPO = Path(__file__).resolve().parents[1]


def _call(ros_graph, service: str) -> Trigger.Response:
    client = ros_graph.node.create_client(Trigger, f'/recorder/{service}')
    ros_graph.spin_until(client.service_is_ready, 60, f'service /recorder/{service}')
    future = client.call_async(Trigger.Request())
    ros_graph.spin_until(future.done, 30, f'/recorder/{service} to answer')
    return future.result()


def _record(ros_graph, seconds: float) -> str:
    deadline = time.monotonic() + 90  # the drivers and cameras come up while the recorder waits
    while not (resp := _call(ros_graph, 'start_episode')).success:
        assert 'cannot start' in resp.message and time.monotonic() < deadline, resp.message
        ros_graph.spin_for(0.5)
    ros_graph.spin_for(seconds)
    resp = _call(ros_graph, 'save_episode')
    assert resp.success, resp.message
    return resp.message


@pytest.mark.slow
def test_record_two_episodes_in_simulation(ros_graph, tmp_path, monkeypatch):
    for key in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE'):
        monkeypatch.setenv(key, ros_graph.env[key])  # SimGraph starts its processes from this environment
    root = tmp_path / 'dataset'
    calibration = bus_paths()['so100_follower']['calibration_file']
    with SimGraph({}, log_dir=tmp_path / 'sim') as sim:
        recorder = ros_graph.start(
            'robolearn_teleop', 'recorder_node', name='recorder', params_file='config/recorder.yaml',
            params={'root': str(root), 'task': 'put the cube on the target', 'calibration_file': calibration},
        )
        assert _record(ros_graph, 3.0).startswith('saved episode 0:')
        assert _record(ros_graph, 2.0).startswith('saved episode 1:')
        assert not sim.crashed() and recorder.running(), sim.crashed()

    report = validate(root)
    assert report.ok, report.problems
    reader = DatasetReader(root)
    assert reader.num_episodes == 2 and reader.camera_keys == ['observation.images.front', 'observation.images.wrist']
    lengths = [e['length'] for e in reader.episodes]
    assert 70 <= lengths[0] <= 100 and 45 <= lengths[1] <= 70, lengths  # 30 fps: ~3 s and ~2 s
    frames = [reader[i] for i in range(len(reader))]
    assert [int(f['frame_index']) for f in frames] == [*range(lengths[0]), *range(lengths[1])]
    np.testing.assert_allclose([float(f['timestamp']) for f in frames[: lengths[0]]], np.arange(lengths[0]) / 30, atol=1e-4)
    states = np.stack([f['observation.state'] for f in frames])
    actions = np.stack([f['action'] for f in frames])
    assert (
        np.all(np.isfinite(states))
        and np.all(np.abs(states[:, :5]) <= 180)
        and np.all((states[:, 5] >= 0) & (states[:, 5] <= 100))
    )
    # the expert moves the leader, teleop the follower: both move, and the follower follows the leader
    assert np.ptp(actions, axis=0).max() > 2.0 and np.ptp(states, axis=0).max() > 2.0
    assert np.abs(states - actions).mean() < np.abs(actions - actions.mean(axis=0)).mean()
    front = np.stack([f['observation.images.front'] for f in frames[: lengths[0]]])
    assert front.shape[1:] == (3, 96, 128) and front.std() > 0.05  # a rendered scene, not a blank frame
    assert np.abs(np.diff(front, axis=0)).mean(axis=(1, 2, 3)).max() > 1e-3  # the arm moves between frames
    assert_lerobot_layout(root)  # last: skips when the LeRobot-written fixture is not beside the repository
