"""executor_node as a separate process over real DDS; the test process plays the driver and the policy."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.control.chunk import Chunk
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_ros.trajectories import chunk_to_msg, to_seconds

HOME = np.array([0.1, -0.3, 0.4, 0.2, 0.0, 0.3])
TICK = 0.02
FPS = 30.0


class Driver:
    """The follower driver's side of the executor: joint states at 50 Hz, commands and requests received."""

    def __init__(self, ros_graph, **params) -> None:
        self.g = ros_graph
        self.process = ros_graph.start('robolearn_executor', 'executor_node', name='executor_node',
                                       params_file='config/policy.yaml', params={'calibration_file': '', **params})
        self.commands = ros_graph.subscribe('/follower/joint_commands', JointState, 200)
        self.requests = ros_graph.subscribe('/policy/request', JointTrajectory)
        self.diagnostics = ros_graph.subscribe('/diagnostics', DiagnosticArray)
        self.state_pub = ros_graph.publisher('/follower/joint_states', JointState)
        self.chunk_pub = ros_graph.publisher('/policy/action_chunk', JointTrajectory)
        self.position = HOME.copy()

    def now(self) -> float:
        return self.g.node.get_clock().now().nanoseconds * 1e-9

    def run(self, seconds: float, until=None) -> None:
        """Publish the measured position every tick for ``seconds`` (or until ``until()``)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            self.state_pub.publish(JointState(name=list(JOINT_NAMES), position=self.position.tolist()))
            self.g.spin_for(TICK)

    def started(self) -> None:
        self.g.spin_until(lambda: self.g.node.count_subscribers('/policy/action_chunk') > 0, 15, 'the executor')
        self.run(15, until=lambda: len(self.commands) > 0 and len(self.requests) > 0)
        assert self.commands and self.requests, 'no command or request from the executor'

    def send(self, chunk: Chunk) -> None:
        self.chunk_pub.publish(chunk_to_msg(chunk, JOINT_NAMES))

    def status(self) -> tuple[str, dict[str, str]]:
        for msg in reversed(self.diagnostics):
            for s in msg.status:
                if 'executor_node' in s.name:
                    return s.message, {kv.key: kv.value for kv in s.values}
        return '', {}


def line(stamp: float, start: np.ndarray, speed: float, points: int = 31) -> Chunk:
    t = np.arange(points) / FPS
    return Chunk(stamp, t, start + speed * t[:, None])


def commanded(msg: JointState) -> tuple[float, np.ndarray]:
    return to_seconds(msg.header.stamp), np.array(msg.position)


def test_first_command_holds_the_measured_position_and_a_chunk_plays_at_its_times(ros_graph):
    d = Driver(ros_graph, aggregation='replace', ramp_speed=0.5)
    d.started()
    t0, first = commanded(d.commands[0])
    assert np.max(np.abs(first - HOME)) <= 0.5 * TICK + 1e-9   # never a jump at t=0
    n = len(d.commands)
    chunk = line(d.now(), HOME, speed=0.3)                      # starts where the arm is: no ramp needed
    d.send(chunk)
    d.run(1.2)
    played = [commanded(m) for m in d.commands[n:]]
    inside = [(t, q) for t, q in played if chunk.start + 0.06 <= t <= chunk.end]
    assert len(inside) >= 35, len(inside)                         # ~0.9 s of 50 Hz ticks
    errors = [np.max(np.abs(q - chunk.sample(t))) for t, q in inside]
    assert max(errors) <= 0.3 * TICK + 1e-6, max(errors)         # each command is the chunk at its own stamp
    stamps = np.array([t for t, _ in played])
    assert np.median(np.diff(stamps)) == pytest.approx(TICK, abs=2e-3)


def test_the_threshold_decides_when_requests_go_out(ros_graph):
    d = Driver(ros_graph, aggregation='replace', threshold=0.5)
    d.started()
    n = len(d.requests)
    d.run(1.2)                                                    # the first request is re-sent after its timeout
    assert len(d.requests) > n
    n = len(d.requests)
    chunk = line(d.now(), HOME, speed=0.0)                        # 1.0 s long
    d.send(chunk)
    d.run(0.8, until=lambda: len(d.requests) > n)
    asked = to_seconds(d.requests[n].header.stamp)
    assert asked - chunk.stamp == pytest.approx(0.5, abs=TICK + 0.02)   # remaining / horizon < 0.5
    assert len(d.requests[n].points) > 0                          # it carries the setpoints still to execute


def test_bad_chunks_are_rejected_with_the_reason_and_the_arm_holds(ros_graph):
    d = Driver(ros_graph)
    d.started()
    now = d.now()
    good = line(now, HOME, speed=0.1)

    def msg(**change) -> JointTrajectory:
        m = chunk_to_msg(good, JOINT_NAMES)
        for key, value in change.items():
            value(m) if callable(value) else setattr(m, key, value)
        return m

    bad = {
        'joint names': msg(joint_names=list(JOINT_NAMES[:5]) + ['jaw']),
        'non-finite': msg(points=lambda m: m.points[3].positions.__setitem__(2, float('nan'))),
        'must increase strictly': msg(points=lambda m: setattr(m.points[4], 'time_from_start', m.points[3].time_from_start)),
        's in the future': chunk_to_msg(line(now + 2.0, HOME, 0.1), JOINT_NAMES),
        's old': chunk_to_msg(line(now - 5.0, HOME, 0.1), JOINT_NAMES),
        'chunk has no points': msg(points=[]),
        'outside its limits': chunk_to_msg(line(now, HOME + np.array([0, 0, 3.0, 0, 0, 0]), 0.0), JOINT_NAMES),
    }
    n = len(d.commands)
    for m in bad.values():
        d.chunk_pub.publish(m)
        d.run(0.1)
    d.run(1.2)
    for reason in bad:
        d.process.wait_for_output(f'rejected chunk \\(.*{reason}', timeout=2)
    held = np.array([commanded(m)[1] for m in d.commands[n:]])
    assert np.max(np.abs(held - HOME)) < 1e-9                     # nothing played: the arm held where it was
    d.g.spin_until(lambda: d.status()[1].get('rejected_chunks') == str(len(bad)), 5, 'the rejections on /diagnostics')
    assert d.status()[1]['rejected: outside joint limits'] == '1'
    assert d.process.running()


def test_emergency_stop_holds_and_switches_torque_off_and_reset_resumes(ros_graph):
    torque_calls = []

    def torque(request, response):
        torque_calls.append(request.data)
        response.success = True
        return response

    ros_graph.node.create_service(SetBool, '/so100_follower/enable_torque', torque)
    d = Driver(ros_graph, aggregation='replace')
    d.started()
    d.send(line(d.now(), HOME, speed=0.2))
    d.run(0.3)
    stop = ros_graph.node.create_client(Trigger, '/executor_node/emergency_stop')
    reset = ros_graph.node.create_client(Trigger, '/executor_node/reset')
    ros_graph.spin_until(stop.service_is_ready, 10, 'the emergency stop service')
    future = stop.call_async(Trigger.Request())
    d.run(5, until=future.done)
    assert future.result().success
    d.run(0.3)
    n = len(d.commands)
    d.send(line(d.now(), HOME + 0.3, speed=0.0))                 # ignored while stopped
    d.run(0.4)
    held = np.array([commanded(m)[1] for m in d.commands[n:]])
    assert np.ptp(held, axis=0).max() < 1e-9 and torque_calls == [False]
    d.g.spin_until(lambda: d.status()[0].startswith('stopped: emergency stop'), 5, 'the stop on /diagnostics')
    future = reset.call_async(Trigger.Request())
    d.run(5, until=future.done)
    d.run(0.3)
    assert torque_calls == [False, True]
    d.g.spin_until(lambda: len(d.requests) and to_seconds(d.requests[-1].header.stamp) > to_seconds(d.commands[n].header.stamp),
                   5, 'a request after the reset')


def test_realtime_priority_puts_the_loop_and_the_callback_thread_on_sched_fifo(ros_graph):
    d = Driver(ros_graph, realtime_priority=5)
    d.started()
    output = d.process.output()
    if 'not permitted' in output:
        pytest.skip('SCHED_FIFO is not permitted here (needs CAP_SYS_NICE or an rtprio limit)')
    loop = int(d.process.wait_for_output(r'thread (\d+) \(executor\) runs SCHED_FIFO 5').group(1))
    callbacks = int(d.process.wait_for_output(r'thread (\d+) \(MainThread\) runs SCHED_FIFO 4').group(1))
    assert callbacks == d.process.proc.pid  # the thread that spins the node's callbacks
    assert os.sched_getscheduler(loop) == os.SCHED_FIFO and os.sched_getparam(loop).sched_priority == 5
    assert os.sched_getscheduler(callbacks) == os.SCHED_FIFO and os.sched_getparam(callbacks).sched_priority == 4
