"""policy_node as a separate process over real DDS, with a tiny trained checkpoint; the test plays arm and cameras."""

from __future__ import annotations

import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.control.chunk import Chunk
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_ros.image_conversion import array_to_image
from robolearn_ros.trajectories import chunk_to_msg, msg_fields

POSE = np.array([0.2, -0.4, 0.5, 0.3, 0.1, 0.4])


class Arm:
    """Joint states at 100 Hz and camera cam0 at 30 Hz (48x64: twice the training size), from the test process."""

    def __init__(self, ros_graph, checkpoint, calibration, **params) -> None:
        self.g = ros_graph
        self.node = ros_graph.start('robolearn_policy', 'policy_node', name='policy_node', params_file='config/policy.yaml',
                                    params={'checkpoint': str(checkpoint), 'calibration_file': str(calibration),
                                            'device': 'cpu', **params})
        self.chunks = ros_graph.subscribe('/policy/action_chunk', JointTrajectory)
        self.diagnostics = ros_graph.subscribe('/diagnostics', DiagnosticArray)
        self.state_pub = ros_graph.publisher('/follower/joint_states', JointState)
        self.image_pub = ros_graph.publisher('/cameras/cam0/image_raw', Image)
        self.request_pub = ros_graph.publisher('/policy/request', JointTrajectory)
        self.cameras_on = True
        self._k = 0

    def now(self) -> float:
        return self.g.node.get_clock().now().nanoseconds * 1e-9

    def run(self, seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            self.state_pub.publish(JointState(name=list(JOINT_NAMES), position=POSE.tolist()))
            if self.cameras_on and self._k % 3 == 0:
                self.image_pub.publish(array_to_image(np.full((48, 64, 3), 80, np.uint8), 'rgb8'))
            self._k += 1
            self.g.spin_for(0.01)

    def ready(self) -> None:
        self.node.wait_for_output('policy ready', timeout=60)
        # a request is one message: published before DDS has matched it with the node, it is lost (on a loaded
        # machine discovery took over a second after 'policy ready'), so wait for every topic to be matched
        pubs = (self.state_pub, self.image_pub, self.request_pub)

        def matched() -> bool:
            return (all(p.get_subscription_count() > 0 for p in pubs)
                    and self.g.node.count_publishers('/policy/action_chunk') > 0)

        self.run(30.0, until=matched)
        assert matched(), 'policy_node and the test did not match on its topics within 30 s'
        self.run(1.0)

    def request(self, pending: Chunk | None = None) -> JointTrajectory:
        n = len(self.chunks)
        msg = JointTrajectory(joint_names=list(JOINT_NAMES)) if pending is None else chunk_to_msg(pending, JOINT_NAMES)
        if pending is None:
            msg.header.stamp = self.g.node.get_clock().now().to_msg()
        self.request_pub.publish(msg)
        self.run(5.0, until=lambda: len(self.chunks) > n)
        assert len(self.chunks) > n, 'no chunk answered the request'
        return self.chunks[n]

    def status(self) -> tuple[str, dict[str, str]]:
        for msg in reversed(self.diagnostics):
            for s in msg.status:
                if 'policy_node' in s.name:
                    return s.message, {kv.key: kv.value for kv in s.values}
        return '', {}


def test_a_request_is_answered_with_a_chunk_stamped_at_its_observation(ros_graph, so_flow_checkpoint, so_calibration):
    arm = Arm(ros_graph, so_flow_checkpoint, so_calibration)
    arm.ready()
    asked = arm.now()
    names, positions, times, stamp = msg_fields(arm.request())
    assert names == list(JOINT_NAMES) and len(positions) == 8                 # the tiny policy's horizon
    np.testing.assert_allclose(times, np.arange(8) / 30.0, atol=1e-6)          # time_from_start = i / dataset fps
    assert asked - 0.2 < stamp <= asked + 0.05                                 # the newest observation's time
    assert np.all(np.isfinite(positions))
    arm.node.wait_for_output('camera cam0: images are 48x64, the policy was trained on 24x32: resizing', timeout=2)
    assert arm.node.output().count('resizing') == 1                           # said once
    arm.g.spin_until(lambda: 'latency_ms_p50' in arm.status()[1], 5, 'latency on /diagnostics')


def test_no_chunk_from_stale_observations(ros_graph, so_flow_checkpoint, so_calibration):
    arm = Arm(ros_graph, so_flow_checkpoint, so_calibration, max_observation_age=0.1)
    arm.ready()
    arm.cameras_on = False
    arm.run(0.5)
    n = len(arm.chunks)
    arm.request_pub.publish(JointTrajectory(joint_names=list(JOINT_NAMES)))
    arm.run(1.0)
    assert len(arm.chunks) == n, 'a chunk was computed from a camera that stopped 0.5 s ago'
    arm.g.spin_until(lambda: arm.status()[0].startswith('no observation: camera cam0'), 5, 'the stale camera reported')
    arm.cameras_on = True
    arm.run(5.0, until=lambda: len(arm.chunks) > n)                            # the request is answered once it can be
    assert len(arm.chunks) > n


def test_rtc_continues_the_setpoints_still_to_execute(ros_graph, so_flow_checkpoint, so_calibration):
    """A flow policy asked with pending setpoints starts its chunk on them; asked without, it does not."""
    arm = Arm(ros_graph, so_flow_checkpoint, so_calibration)
    arm.ready()
    free = np.array(msg_fields(arm.request())[1])
    pending_pose = free[0] + np.array([0.3, -0.3, 0.3, -0.3, 0.3, 0.0])        # far from what it would do
    now = arm.now()
    pending = Chunk(now, np.arange(10) / 30.0, np.repeat(pending_pose[None], 10, axis=0))
    guided = np.array(msg_fields(arm.request(pending))[1])
    free_error = np.abs(free[:3] - pending_pose).max()
    guided_error = np.abs(guided[:3] - pending_pose).max()
    assert free_error > 0.25 and guided_error < free_error / 2, (free_error, guided_error)


def test_comma_separated_checkpoints_deploy_as_one_averaged_policy(ros_graph, so_act_pair, so_calibration):
    arm = Arm(ros_graph, ','.join(map(str, so_act_pair)), so_calibration)
    arm.ready()
    assert 'policy ready: act (ensemble of 2, chunks averaged)' in arm.node.output()
    names, positions, times, stamp = msg_fields(arm.request())
    assert len(positions) == 8 and np.all(np.isfinite(positions))
    arm.g.spin_until(lambda: arm.status()[1].get('resized_cameras') == 'cam0 from 48x64', 5, 'the resized camera')


def test_an_ensemble_with_a_sampler_is_refused(ros_graph, so_act_pair, so_flow_checkpoint, so_calibration):
    node = ros_graph.start('robolearn_policy', 'policy_node', name='policy_node', params_file='config/policy.yaml',
                           params={'checkpoint': f'{so_act_pair[0]},{so_flow_checkpoint}',
                                   'calibration_file': str(so_calibration)})
    assert node.wait_exit(60) == 1
    assert 'holds a flow policy sampling from fresh noise' in node.output()


def test_an_ensemble_of_samplers_from_the_noise_mean_deploys(ros_graph, so_flow_checkpoint, so_calibration):
    """The inference_noise parameter reaches every member, so flows started from zero noise average like ACTs."""
    arm = Arm(ros_graph, f'{so_flow_checkpoint},{so_flow_checkpoint}', so_calibration, inference_noise='zero')
    arm.ready()
    assert 'policy ready: flow (ensemble of 2, chunks averaged)' in arm.node.output()
    first, second = (np.asarray(msg_fields(arm.request())[1]) for _ in range(2))
    np.testing.assert_allclose(first, second, atol=1e-4)  # a still arm and still cameras: the same chunk twice


def test_episode_noise_makes_the_same_observation_give_the_same_chunk(ros_graph, so_flow_checkpoint, so_calibration):
    """inference_noise reaches the sampler: with one draw per episode a still arm and still cameras get the same chunk
    twice, where fresh noise (the default) gives two different ones."""
    chunks = {}
    for noise in ('episode', ''):
        arm = Arm(ros_graph, so_flow_checkpoint, so_calibration, inference_noise=noise)
        arm.ready()
        chunks[noise] = [np.array(msg_fields(arm.request())[1]) for _ in range(2)]
        ros_graph.stop(arm.node)
    np.testing.assert_allclose(chunks['episode'][0], chunks['episode'][1], atol=1e-6)
    assert np.abs(chunks[''][0] - chunks[''][1]).max() > 1e-3


@pytest.mark.parametrize('param, value, message', [
    ('mode', 'sometimes', "mode 'sometimes' is not one of request, continuous"),
    ('inference_noise', 'sometimes', "inference_noise 'sometimes' is not one of fresh, episode, zero"),
    ('checkpoint', '/nonexistent', 'not a policy checkpoint'),
])
def test_bad_parameters_stop_the_node_with_the_reason(ros_graph, so_calibration, param, value, message):
    node = ros_graph.start('robolearn_policy', 'policy_node', name='policy_node', params_file='config/policy.yaml',
                           params={'checkpoint': '/nonexistent', 'calibration_file': str(so_calibration), param: value})
    assert node.wait_exit(60) == 1
    assert message in node.output()
