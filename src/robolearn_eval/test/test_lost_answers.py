"""A service answer that never comes does not stall evaluate: the request is sent again where a repeat is
harmless, or the state shows it was done. (make test once waited 300 s on the policy node's first reset, whose
response Fast DDS had dropped.) The services here are a separate process over real DDS, a double whose first
answer is late (late_first_answer_double.py); the refusal texts it sends are checked against the real recorder's."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import rclpy

from robolearn_core.calibration import ArmCalibration, MotorCalibration
from robolearn_core.dataset.writer import DatasetWriter
from robolearn_core.recording.episode_recorder import EpisodeRecorder, RecorderSettings
from robolearn_core.so_arm.frame_schema import FrameSchema
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_eval.episodes import DONE_BEFORE, EpisodeRunner, EpisodeWatcher

DOUBLE = Path(__file__).with_name('late_first_answer_double.py')
ANSWER_WAIT_S = 0.5   # the runner's; the double holds its first answers for 20 s


class GraphOf:
    """The runner's view of a graph: which processes died (here: the double's)."""

    def __init__(self, ros_graph) -> None:
        self.ros_graph = ros_graph

    def crashed(self) -> list[str]:
        return [p.label for p in self.ros_graph.crashed()]


@pytest.fixture
def runner(ros_graph):
    double = ros_graph.start_command([sys.executable, str(DOUBLE)], label='late_first_answer_double')
    double.wait_for_output('services up', 30.0)
    rclpy.init(domain_id=ros_graph.domain_id)
    node = EpisodeWatcher()
    try:
        yield EpisodeRunner(GraphOf(ros_graph), node, answer_wait_s=ANSWER_WAIT_S), double
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def requests_to(double, service: str) -> int:
    return double.output().count(f'to {service}\n')


def test_a_lost_answer_is_asked_again_where_a_repeat_is_harmless(runner) -> None:
    runner, double = runner
    start = time.monotonic()
    assert runner.call('/policy_node/reset', timeout=15.0) == 'new episode'
    assert time.monotonic() - start < 15.0 and requests_to(double, '/policy_node/reset') == 2


def test_a_repeat_refused_as_already_done_counts_as_done(runner) -> None:
    runner, double = runner
    message = runner.call('/recorder/start_episode', timeout=15.0)
    assert 'answer lost; the request was done' in message and 'still in progress' in message
    assert requests_to(double, '/recorder/start_episode') == 2


def test_a_request_that_must_not_be_repeated_is_checked_against_the_state(runner) -> None:
    runner, double = runner
    checked = []
    message = runner.call('/world_node/reset', timeout=15.0, took_effect=lambda: checked.append(1) or True)
    assert message == '(answer lost; the request was done)' and checked == [1]
    time.sleep(0.5)
    assert requests_to(double, '/world_node/reset') == 1   # not sent again: a second reset would skip a seed


def test_the_refusals_counted_as_done_are_the_real_recorders(tmp_path) -> None:
    calibration = ArmCalibration({n: MotorCalibration(i + 1, 0, 0, 1000, 3000) for i, n in enumerate(JOINT_NAMES)})
    recorder = EpisodeRecorder(RecorderSettings(root=tmp_path / 'ds', fps=30, task='pick', video_codec='h264'),
                               FrameSchema(('front',), calibration, calibration), lambda line: None)
    for service, action in (('/recorder/save_episode', recorder.save_episode),
                            ('/recorder/discard_episode', recorder.discard_episode)):
        with pytest.raises(RuntimeError) as refused:  # the first request was done: no episode is in progress
            action()
        assert DONE_BEFORE[service] in str(refused.value)
    writer = DatasetWriter(tmp_path / 'ds2', fps=30, features={'x': {'dtype': 'float32', 'shape': [1], 'names': None}})
    writer.start_episode('pick')
    with pytest.raises(RuntimeError) as refused:  # the first start was done: its episode is in progress
        writer.start_episode('pick')
    assert DONE_BEFORE['/recorder/start_episode'] in str(refused.value)
