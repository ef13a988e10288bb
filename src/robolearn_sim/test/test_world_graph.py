"""The simulated world's nodes over real DDS: world_node with its simulated Feetech buses, the unchanged
so100_drivers on them, teleop_node, camera_node (source: sim), evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_ros.image_conversion import image_to_array
from robolearn_sim.episode_layout import sample_layout
from robolearn_sim.graph_paths import BUSES_READY

WORLD = dict(params_file='config/sim.yaml', name='world_node')


def start_world_and_drivers(ros_graph, **world_params):
    """world_node with its buses under the test's directory, then the two so100_drivers on them (as the launch file)."""
    paths = {}
    for role in ('follower', 'leader'):
        paths[role] = {
            'port': str(ros_graph.workdir / f'bus-{role}'),
            'calibration_file': str(ros_graph.workdir / f'{role}.json'),
        }
        world_params |= {f'{role}_port': paths[role]['port'], f'{role}_calibration': paths[role]['calibration_file']}
    world = ros_graph.start('robolearn_sim', 'world_node', **WORLD, params=world_params)
    world.wait_for_output(BUSES_READY, 90)
    for role in ('follower', 'leader'):
        ros_graph.start(
            'robolearn_hardware',
            'so100_driver',
            name=f'so100_{role}',
            params_file=f'config/so100_{role}.yaml',
            params=paths[role],
        )
    return world


def _positions(msg: JointState) -> np.ndarray:
    index = {n: i for i, n in enumerate(msg.name)}
    return np.array([msg.position[index[n]] for n in JOINT_NAMES])


def test_commanded_joint_trajectory_through_the_driver_moves_the_mujoco_arm(ros_graph) -> None:
    """so100_driver -> simulated bus -> MuJoCo: the physics' own joint angles (/sim/joint_states) reach the goal,
    and the driver's radians (through the calibration world_node wrote) are the MuJoCo joint angles."""
    start_world_and_drivers(ros_graph, expert=False)
    states = ros_graph.subscribe_sensor('/follower/joint_states', JointState)
    truth = ros_graph.subscribe('/sim/joint_states', JointState)
    ros_graph.spin_until(lambda: len(states) > 0 and len(truth) > 0, 60, 'follower joint states from the driver')
    commands = ros_graph.publisher('/follower/joint_commands', JointState)
    start = _positions(states[-1])
    goal = np.array([-0.6, -0.4, 0.7, 1.1, 0.3, 0.6])
    for s in np.linspace(0.0, 1.0, 50):  # a 1 s trajectory at 50 Hz
        commands.publish(JointState(name=list(JOINT_NAMES), position=(start + s * (goal - start)).tolist()))
        ros_graph.spin_for(0.02)
    # 0.03 rad: the position servos (kp 17.8 N m/rad, like an STS3215) sag under the arm's weight, 0.019 rad
    # at most at this pose (measured; see test_world.py).
    ros_graph.spin_until(lambda: np.abs(_positions(truth[-1]) - goal).max() < 0.03, 10, 'the MuJoCo arm to reach the goal')
    ros_graph.spin_for(1.0)  # at rest: both readings describe the same pose
    # One encoder tick is 2 pi / 4096 = 1.5 mrad; the two topics are sampled up to a few ms apart at rest.
    np.testing.assert_allclose(_positions(states[-1]), _positions(truth[-1]), atol=0.004)


def test_world_resets_to_seeds_and_the_expert_drives_the_follower_through_teleop(ros_graph) -> None:
    start_world_and_drivers(ros_graph, seed=5010)
    ros_graph.start('robolearn_teleop', 'teleop_node', params_file='config/sim.yaml', name='teleop_node')
    cubes = ros_graph.subscribe_sensor('/sim/cube_pose', PoseStamped)
    leader = ros_graph.subscribe_sensor('/leader/joint_states', JointState)
    follower = ros_graph.subscribe_sensor('/follower/joint_states', JointState)
    episodes = ros_graph.subscribe('/sim/episode', String)
    ros_graph.spin_until(
        lambda: all(len(x) > 0 for x in (cubes, episodes, leader, follower)), 60, 'the world and the drivers to start'
    )
    assert json.loads(episodes[-1].data)['seed'] == 5010
    np.testing.assert_allclose([cubes[-1].pose.position.x, cubes[-1].pose.position.y], sample_layout(5010).cube_xy, atol=1e-4)

    # The expert moves the leader; the follower gets there through the teleop node's commands.
    first_leader = _positions(leader[-1])
    ros_graph.spin_for(2.5)
    moved = _positions(leader[-1])
    assert np.abs(moved - first_leader).max() > 0.2
    ros_graph.spin_for(0.5)
    lag = np.abs(_positions(follower[-1])[:5] - _positions(leader[-1])[:5]).max()
    assert lag < 0.15, f'follower is {lag:.3f} rad from the leader'

    client = ros_graph.node.create_client(Trigger, '/world_node/reset')
    ros_graph.spin_until(client.service_is_ready, 10, 'the reset service')
    future = client.call_async(Trigger.Request())
    ros_graph.spin_until(future.done, 10, 'the reset answer')
    assert future.result().success and 'seed=5011' in future.result().message
    want = sample_layout(5011).cube_xy
    ros_graph.spin_until(
        lambda: np.allclose([cubes[-1].pose.position.x, cubes[-1].pose.position.y], want, atol=1e-4), 5, 'the new cube pose'
    )


def test_sim_camera_renders_the_world(ros_graph) -> None:
    start_world_and_drivers(ros_graph, expert=False)
    ros_graph.start('robolearn_camera', 'camera_node', params_file='config/sim.yaml', name='front_camera')
    images = ros_graph.subscribe_sensor('/cameras/front/image_raw', Image)
    ros_graph.spin_until(lambda: len(images) >= 5, 90, 'five frames from the simulated front camera')
    rgb = image_to_array(images[-1], 'rgb8')
    assert rgb.shape == (96, 128, 3)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
    assert 3 <= red.sum() < 200, f'the red cube should be a few pixels of the front view, got {red.sum()}'


@pytest.mark.parametrize(
    ('params', 'says'),
    [({'camera_name': 'ceiling'}, ['ceiling', 'front, wrist']), ({'width': 1920, 'height': 1080}, ['1080x1920', '480x640'])],
)
def test_sim_camera_refuses_what_the_world_cannot_render(ros_graph, params, says) -> None:
    cam = ros_graph.start('robolearn_camera', 'camera_node', params_file='config/sim.yaml', name='front_camera', params=params)
    assert cam.wait_exit(30) != 0
    assert all(s in cam.output() for s in says), cam.output()


@pytest.mark.slow
def test_evaluate_expert_through_the_graph(ros_graph) -> None:
    proc = ros_graph.start_command(['evaluate', '--expert', '--episodes', '2', '--seed', '5020', '--json'], label='evaluate')
    assert proc.wait_exit(240) == 0, proc.output()
    report = json.loads(proc.output().strip().splitlines()[-1])
    assert report['episodes'] == 2 and report['first_seed'] == 5020
    assert report['success_rate'] == 1.0
    assert report['real_time_factor'] > 0.8
    assert 'so100_leader' in report['joint_path'] and 'so100_follower' in report['joint_path']
    assert {'so100_follower', 'so100_leader'} <= set(report['cpu_cores_by_node'])
    assert report['camera_fps_mean'] > 10


def test_world_node_refuses_a_seed_outside_the_documented_ranges(ros_graph) -> None:
    world = ros_graph.start('robolearn_sim', 'world_node', **WORLD, params={'seed': 20000})
    assert world.wait_exit(30) != 0
    assert 'training 0..4999, evaluation 5000..9999' in world.output()
