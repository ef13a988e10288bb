"""teleop_node: leader joint states in, limited follower joint commands out at a fixed rate."""

from __future__ import annotations

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState

from robolearn_core.so_arm.joints import JOINT_NAMES


def test_teleop_follows_the_leader_at_its_rate_within_limits_and_stops_when_it_is_silent(ros_graph) -> None:
    ros_graph.start('robolearn_teleop', 'teleop_node', params_file='config/sim.yaml', name='teleop_node',
                    params={'max_step': 0.05})
    commands = ros_graph.subscribe('/follower/joint_commands', JointState)
    diagnostics = ros_graph.subscribe('/diagnostics', DiagnosticArray)
    leader = ros_graph.publisher('/leader/joint_states', JointState)
    ros_graph.wait_for_topic('/follower/joint_commands')
    ros_graph.spin_until(lambda: ros_graph.node.count_subscribers('/leader/joint_states') > 0, 10, 'teleop subscribing')
    pose = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    for _ in range(60):  # 1.2 s of leader states at 50 Hz
        leader.publish(JointState(name=list(JOINT_NAMES), position=pose))
        ros_graph.spin_for(0.02)
    assert len(commands) > 30, f'{len(commands)} commands in 1.2 s'
    np.testing.assert_allclose(commands[-1].position, pose, atol=1e-9)
    # A jump far past the joint range: clamped, and approached at most max_step per tick.
    n = len(commands)
    for _ in range(5):
        leader.publish(JointState(name=list(JOINT_NAMES), position=[9.0] * 6))
        ros_graph.spin_for(0.02)
    ros_graph.spin_until(lambda: len(commands) > n + 2, 5)
    steps = np.abs(np.diff([c.position for c in commands[n - 1:]], axis=0))
    assert steps.max() <= 0.05 + 1e-9
    # The leader falls silent: commands stop, and the diagnostics say why.
    ros_graph.spin_for(0.5)
    n = len(commands)
    ros_graph.spin_for(0.5)
    assert len(commands) == n
    ros_graph.spin_until(lambda: any('holding' in s.message for d in diagnostics for s in d.status), 5, 'a holding warning')


def test_teleop_drops_a_non_finite_leader_state(ros_graph) -> None:
    ros_graph.start('robolearn_teleop', 'teleop_node', params_file='config/sim.yaml', name='teleop_node')
    commands = ros_graph.subscribe('/follower/joint_commands', JointState)
    diagnostics = ros_graph.subscribe('/diagnostics', DiagnosticArray)
    leader = ros_graph.publisher('/leader/joint_states', JointState)
    ros_graph.spin_until(lambda: ros_graph.node.count_subscribers('/leader/joint_states') > 0, 10, 'teleop subscribing')
    for _ in range(30):
        leader.publish(JointState(name=list(JOINT_NAMES), position=[0.1, 0.2, float('nan'), 0.0, 0.0, 0.0]))
        ros_graph.spin_for(0.02)
    assert commands == []
    ros_graph.spin_until(
        lambda: any('non-finite' in s.message for d in diagnostics for s in d.status), 5, 'a dropped-state warning'
    )


def test_teleop_refuses_a_zero_max_step(ros_graph) -> None:
    teleop = ros_graph.start(
        'robolearn_teleop', 'teleop_node', params_file='config/sim.yaml', name='teleop_node', params={'max_step': 0.0}
    )
    assert teleop.wait_exit(30) != 0
    assert 'max_step 0.0 must be > 0' in teleop.output()


def test_max_step_changes_at_run_time_and_a_bad_value_is_refused_with_the_reason(ros_graph) -> None:
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    ros_graph.start('robolearn_teleop', 'teleop_node', params_file='config/sim.yaml', name='teleop_node')
    client = ros_graph.node.create_client(SetParameters, '/teleop_node/set_parameters')
    ros_graph.spin_until(client.service_is_ready, 15, 'the parameter service')

    def set_max_step(value: float):
        future = client.call_async(SetParameters.Request(parameters=[Parameter('max_step', value=value).to_parameter_msg()]))
        ros_graph.spin_until(future.done, 10, 'the parameter reply')
        return future.result().results[0]

    refused = set_max_step(-0.1)
    assert not refused.successful and refused.reason == 'max_step: max_step -0.1 must be > 0'
    assert set_max_step(0.02).successful
    commands = ros_graph.subscribe('/follower/joint_commands', JointState)
    leader = ros_graph.publisher('/leader/joint_states', JointState)
    for _ in range(25):  # from the first command (the leader's pose) to a jump of 0.5 rad: 0.02 rad a tick
        leader.publish(JointState(name=list(JOINT_NAMES), position=[0.5 if commands else 0.0] * 6))
        ros_graph.spin_for(0.02)
    steps = np.abs(np.diff([c.position for c in commands], axis=0))
    assert len(commands) > 5 and steps.max() == pytest.approx(0.02), steps.max()  # the new limit, not the default 0.1
