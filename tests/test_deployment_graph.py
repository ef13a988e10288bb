"""policy_node and executor_node together over real DDS; the test process plays the arm (joint states, a camera).

Killing the policy mid-run: the executor plays what it has, then holds (the same command, never
extrapolated) and says so; a restarted policy is picked up again without a jump.
"""

from __future__ import annotations

import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image, JointState

from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_ros.image_conversion import array_to_image
from robolearn_ros.trajectories import to_seconds

POSE = np.array([0.2, -0.4, 0.5, 0.3, 0.1, 0.4])
RAMP_SPEED = 0.5
TICK = 0.02


def test_a_killed_policy_makes_the_executor_hold_and_a_restarted_one_resumes_without_a_jump(
        ros_graph, so_flow_checkpoint, so_calibration):
    def start_policy():
        return ros_graph.start('robolearn_policy', 'policy_node', name='policy_node', params_file='config/policy.yaml',
                               params={'checkpoint': str(so_flow_checkpoint), 'calibration_file': str(so_calibration),
                                       'device': 'cpu'})

    policy = start_policy()
    executor = ros_graph.start('robolearn_executor', 'executor_node', name='executor_node', params_file='config/policy.yaml',
                               params={'calibration_file': str(so_calibration), 'ramp_speed': RAMP_SPEED,
                                       'stale_after': 0.5})
    commands = ros_graph.subscribe('/follower/joint_commands', JointState, 200)
    diagnostics = ros_graph.subscribe('/diagnostics', DiagnosticArray)
    state_pub = ros_graph.publisher('/follower/joint_states', JointState)
    image_pub = ros_graph.publisher('/cameras/cam0/image_raw', Image)
    k = 0

    def run(seconds, until=None):
        nonlocal k
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            state_pub.publish(JointState(name=list(JOINT_NAMES), position=POSE.tolist()))
            if k % 3 == 0:
                image_pub.publish(array_to_image(np.full((24, 32, 3), 80, np.uint8), 'rgb8'))
            k += 1
            ros_graph.spin_for(0.01)

    def executor_status():
        for msg in reversed(diagnostics):
            for s in msg.status:
                if 'executor_node' in s.name:
                    return s.message, {kv.key: kv.value for kv in s.values}
        return '', {}

    policy.wait_for_output('policy ready', timeout=60)
    run(30, until=lambda: int(executor_status()[1].get('chunks', 0)) >= 3)
    assert int(executor_status()[1]['chunks']) >= 3, 'the executor is not getting chunks from the policy'

    policy.interrupt(5.0)                                    # the policy process goes away mid-run
    killed = len(commands)
    run(2.0)
    executor.wait_for_output('holding: (queue empty|stale policy)', timeout=2)
    after = [(to_seconds(m.header.stamp), np.array(m.position)) for m in commands[killed:]]
    steps = np.array([np.abs(b - a).max() for (_, a), (_, b) in zip(after, after[1:])])
    still = np.flatnonzero(steps == 0.0)
    assert len(still) and np.all(steps[still[0]:] == 0.0), 'once it holds, every command is the same: no extrapolation'
    ros_graph.spin_until(lambda: executor_status()[0].startswith('holding: stale policy'), 5, 'the stale policy reported')

    held = len(commands)
    start_policy().wait_for_output('policy ready', timeout=60)
    run(30, until=lambda: executor_status()[0] == 'playing chunks')
    run(1.0)
    resumed = np.array([m.position for m in commands[held:]])
    moving = np.flatnonzero(np.abs(np.diff(resumed, axis=0)).max(axis=1) > 0)
    assert len(moving), 'the arm did not move again'
    first_steps = np.abs(np.diff(resumed[moving[0]:moving[0] + 11], axis=0))
    assert first_steps.max() <= RAMP_SPEED * TICK + 1e-6, 'a jump when the policy came back: it must ramp from the hold'
    assert executor.running()
