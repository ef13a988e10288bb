"""The simulated world in plain Python: layouts per seed, the two JointBackends, task success, the expert."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn_core.feetech.joint_backend import JointBackend
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_sim.episode_layout import EVAL_SEEDS, TRAIN_SEEDS, sample_layout, seed_split
from robolearn_sim.expert_episode import run_expert_episode
from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.scene import CUBE_HALF
from robolearn_sim.scripted_expert import STRATEGIES, ScriptedExpert
from robolearn_sim.world import HOME_POSITIONS, World

ALL_ON = np.ones(6, dtype=bool)


@pytest.fixture(scope='module')
def world() -> World:
    return World()


@pytest.fixture(scope='module')
def ik(world: World) -> TopDownIK:
    return TopDownIK(world.model)


def test_same_seed_gives_the_same_cube_pose_and_another_seed_another(world: World) -> None:
    world.reset(5003)
    first = world.cube_pose()
    world.step(0.3)
    world.reset(5011)
    other = world.cube_pose()
    world.reset(5003)
    again = world.cube_pose()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert np.linalg.norm(first[0][:2] - other[0][:2]) > 1e-3
    assert sample_layout(5003) == sample_layout(5003)


def test_training_and_evaluation_seeds_are_disjoint_and_others_refused() -> None:
    assert set(TRAIN_SEEDS).isdisjoint(EVAL_SEEDS)
    assert seed_split(0) == 'train' and seed_split(5000) == 'eval'
    with pytest.raises(ValueError, match='outside the documented ranges'):
        sample_layout(-1)


def test_reset_puts_both_arms_home_at_rest(world: World) -> None:
    world.reset(5000)
    world.step(0.5)
    np.testing.assert_allclose(world.follower_backend.present_positions(), HOME_POSITIONS, atol=0.06)
    np.testing.assert_allclose(world.leader_backend.present_positions(), HOME_POSITIONS)
    assert world.cube_pose()[0][2] == pytest.approx(CUBE_HALF, abs=1e-3)


def test_backends_satisfy_the_joint_backend_protocol(world: World) -> None:
    backends: list[JointBackend] = [world.follower_backend, world.leader_backend]
    for backend in backends:
        assert backend.joint_names == JOINT_NAMES
        for read in (backend.present_positions, backend.present_velocities, backend.present_loads):
            assert read().shape == (6,)


def test_follower_follows_a_commanded_joint_trajectory(world: World) -> None:
    world.reset(5000)
    start = HOME_POSITIONS.copy()
    end = np.array([-0.5, -0.3, 0.6, 1.2, 0.5, 0.8])
    for s in np.linspace(0.0, 1.0, 50):  # one second at 50 Hz
        world.follower_backend.set_goal_positions(start + s * (end - start), ALL_ON)
        world.step(0.02)
    world.step(1.0)
    np.testing.assert_allclose(world.follower_backend.present_positions(), end, atol=0.05)
    assert np.abs(world.follower_backend.present_velocities()).max() < 0.05
    # Holding the arm out against gravity takes torque on the shoulder: the load says so.
    assert abs(world.follower_backend.present_loads()[1]) > 0.01


def test_follower_goes_limp_without_torque_and_holds_with_it(world: World) -> None:
    world.reset(5000)
    pose = np.array([1.2, 0.0, 0.0, 0.3, 0.0, 0.0])  # arm stretched out, away from the pillar: gravity pulls it down
    world.follower_backend.set_goal_positions(pose, ALL_ON)
    world.step(1.5)
    held = world.follower_backend.present_positions()
    limp = ALL_ON.copy()
    limp[1:4] = False
    world.follower_backend.set_goal_positions(pose, limp)
    world.step(1.0)
    fell = world.follower_backend.present_positions()
    assert np.abs(fell[1:4] - held[1:4]).max() > 0.2
    world.follower_backend.set_goal_positions(pose, ALL_ON)  # torque back on: the servos restore the pose
    world.step(2.0)
    np.testing.assert_allclose(world.follower_backend.present_positions(), pose, atol=0.05)


def test_follower_rejects_goals_of_the_wrong_shape(world: World) -> None:
    with pytest.raises(ValueError, match='shape'):
        world.follower_backend.set_goal_positions(np.zeros(5), np.ones(5, dtype=bool))


def test_leader_is_moved_by_hand_unless_its_torque_holds_it(world: World) -> None:
    leader = world.leader_backend
    leader.place(HOME_POSITIONS)
    leader.set_goal_positions(HOME_POSITIONS, np.zeros(6, dtype=bool))
    target = HOME_POSITIONS - 0.1
    leader.move_to(target, 0.02)
    np.testing.assert_allclose(leader.present_positions(), target)
    np.testing.assert_allclose(leader.present_velocities(), -0.1 / 0.02)
    leader.move_to(target + [0, 0, 0, 5.0, 0, 0], 0.02)  # past the wrist's range: the joint stops at it
    assert leader.present_positions()[3] == pytest.approx(leader.upper[3])
    hold = np.zeros(6, dtype=bool)
    hold[0] = True
    leader.set_goal_positions(target, hold)
    leader.move_to(target - 0.1, 0.02)
    assert leader.present_positions()[0] == pytest.approx(target[0])
    assert leader.present_positions()[1] == pytest.approx(target[1] - 0.1)


def test_success_for_a_placed_cube_not_for_a_dropped_one(world: World) -> None:
    layout = world.reset(5000)
    target = np.array(layout.target_xy)
    world.set_cube_pose(np.array([*target, CUBE_HALF + 0.001]), 0.3)  # set down on the target
    world.step(0.5)
    assert world.success()
    world.set_cube_pose(np.array([*(target + [0.07, 0.0]), 0.12]))  # dropped from 12 cm next to it
    world.step(0.05)
    assert not world.success()  # still falling
    world.step(1.0)
    cube = world.cube_pose()[0]
    assert cube[2] < CUBE_HALF + 0.003
    assert np.abs(cube[:2] - target).max() > 0.03
    assert not world.success()  # on the table, off the target
    world.set_cube_pose(np.array([*target, 0.08]))  # dropped onto the target from 8 cm: still mid-air
    assert not world.success()


def test_inverse_kinematics_reaches_a_top_down_grasp(ik: TopDownIK) -> None:
    point = np.array([0.2, 0.1, 0.02])
    result = ik.solve(point, 1.0, HOME_POSITIONS[:5])
    assert result.position_error < 1e-3 and result.angle_error < 0.02
    reached, rot = ik.grasp_point(result.joints)
    np.testing.assert_allclose(reached, point, atol=1e-3)
    assert rot[:, 0] @ np.array([0.0, 0.0, -1.0]) > 0.999  # approach axis straight down


def test_expert_picks_a_strategy_per_episode_and_both_occur(ik: TopDownIK) -> None:
    chosen = [ScriptedExpert(ik, sample_layout(s)).strategy for s in range(5000, 5040)]
    assert set(chosen) == set(STRATEGIES)
    assert ScriptedExpert(ik, sample_layout(5005)).strategy == chosen[5]  # deterministic per seed
    with pytest.raises(ValueError, match='strategy'):
        ScriptedExpert(ik, sample_layout(5000), 'over')


@pytest.mark.parametrize('strategy', STRATEGIES)
def test_expert_places_the_cube_with_each_strategy(world: World, ik: TopDownIK, strategy: str) -> None:
    result = run_expert_episode(world, ik, 5001, strategy)
    assert result.strategy == strategy
    assert result.success, f'cube at {world.cube_pose()[0]}, target {world.target_xy()}'



def test_the_hand_centres_and_turns_over_the_cube_so_the_wrist_camera_shows_both(ik: TopDownIK) -> None:
    """The hand arrives a little off the cube at a yaw that ignores the cube's, then centres and turns to its faces."""
    from robolearn_sim.episode_layout import EpisodeLayout

    def plan(cube_yaw: float) -> ScriptedExpert:
        layout = EpisodeLayout(seed=5000, cube_xy=(0.16, 0.11), cube_yaw=cube_yaw, target_xy=(0.16, -0.11))
        return ScriptedExpert(ik, layout, strategy='inside')

    a, b = plan(-0.6), plan(0.3)
    start = np.array([0.13, 0.0, 0.06, 0.0, 0.0])
    def xy(pose: np.ndarray) -> np.ndarray:
        return pose[0] * np.array([np.cos(pose[1]), np.sin(pose[1])])

    def miss(pose: np.ndarray, expert: ScriptedExpert = a) -> float:  # m from the point it descends onto
        return float(np.linalg.norm(xy(pose) - xy(expert.segments[3][0].as_array())))

    assert np.linalg.norm(xy(a.segments[3][0].as_array()) - [0.16, 0.11]) < 0.008  # the descent: onto the cube

    over_a, over_b = a.hand_pose(a.times[2], start), b.hand_pose(b.times[2], start)  # first arrival over the cube
    assert 0.005 < miss(over_a) < 0.016  # a little off, as a quick reach is
    assert over_a[3] == pytest.approx(over_b[3])  # same yaw whatever the cube's
    turned_a, turned_b = a.hand_pose(a.times[3], start), b.hand_pose(b.times[3], start)
    for turned, cube_yaw, expert in ((turned_a, -0.6, a), (turned_b, 0.3, b)):  # centred, jaws on two faces
        assert miss(turned, expert) < 1e-9
        assert np.sin(2 * (turned[3] - cube_yaw)) == pytest.approx(0.0, abs=1e-9)
    assert abs(turned_a[3] - turned_b[3]) > 0.3

def test_averaging_the_two_strategies_fails(world: World, ik: TopDownIK, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task is multimodal for real: the mean of the inside and outside arcs runs into the pillar."""
    import robolearn_sim.scripted_expert as scripted_expert

    inside, outside = scripted_expert.ARC_RADIUS['inside'], scripted_expert.ARC_RADIUS['outside']
    mean = ((inside[0] + outside[0]) / 2, (inside[1] + outside[1]) / 2)
    monkeypatch.setitem(scripted_expert.ARC_RADIUS, 'inside', mean)
    monkeypatch.setattr(scripted_expert, 'MAX_RETRIES', 0)  # the arc alone, not the recovery, is on trial
    result = run_expert_episode(world, ik, 5001, 'inside')
    assert not result.success


def _seed_with_fumble(ik: TopDownIK, fumble: str | None) -> int:
    return next(s for s in range(5000, 5100) if ScriptedExpert(ik, sample_layout(s), fumble_probability=0.3).fumble == fumble)


def test_the_asked_share_of_first_grasps_is_fumbled_on_purpose_deterministically_per_seed(ik: TopDownIK) -> None:
    fumbles = [ScriptedExpert(ik, sample_layout(s), fumble_probability=0.3).fumble for s in range(5000, 5200)]
    assert 0.2 < sum(f is not None for f in fumbles) / len(fumbles) < 0.4
    assert {'high', 'aside'} <= set(fumbles)
    assert [ScriptedExpert(ik, sample_layout(s), fumble_probability=0.3).fumble for s in range(5000, 5010)] == fumbles[:10]
    assert all(ScriptedExpert(ik, sample_layout(s)).fumble is None for s in range(5000, 5200))  # the default: none
    unfumbled = _seed_with_fumble(ik, None)  # the fumble's draws leave the rest of the plan as it was
    np.testing.assert_array_equal(ScriptedExpert(ik, sample_layout(unfumbled), fumble_probability=0.3).times,
                                  ScriptedExpert(ik, sample_layout(unfumbled)).times)
    with pytest.raises(ValueError, match='fumble_probability'):
        ScriptedExpert(ik, sample_layout(5000), fumble_probability=1.5)


@pytest.mark.parametrize('fumble', ['high', 'aside'])
def test_a_fumbled_grasp_is_seen_and_made_again(world: World, ik: TopDownIK, fumble: str) -> None:
    result = run_expert_episode(world, ik, _seed_with_fumble(ik, fumble), fumble_probability=0.3)
    assert result.fumble == fumble
    assert result.retries == 1
    assert result.success, f'cube at {world.cube_pose()[0]}, target {world.target_xy()}'


def test_the_expert_grasps_again_when_the_cube_leaves_the_hand_while_carrying(world: World, ik: TopDownIK) -> None:
    """The cube taken out of the hand mid-carry (put back on the table near where it was): the expert goes back for it."""
    seed = _seed_with_fumble(ik, None)
    layout = world.reset(seed)
    expert = ScriptedExpert(ik, layout)
    dt, t, start, dropped = 1 / 50, 0.0, world.follower_backend.present_positions(), False
    while not expert.done(t) and t < 30:
        if not dropped and t >= expert.times[expert.lift_segment + 2]:  # on the arc
            world.set_cube_pose(np.array([*layout.cube_xy, CUBE_HALF]) + [0.01, -0.01, 0.0], layout.cube_yaw + 0.3)
            dropped = True
        goal = expert.leader_goal(t, world.follower_backend.present_positions(), dt, start, *world.cube_pose())
        world.leader_backend.move_to(goal, dt)
        world.follower_backend.set_goal_positions(world.leader_backend.present_positions(), ALL_ON)
        world.step(dt)
        t += dt
    world.step(0.5)
    assert dropped and expert.retries == 1
    assert world.success(), f'cube at {world.cube_pose()[0]}, target {world.target_xy()}'


def test_goals_through_the_simulated_bus_reach_the_mujoco_joints_while_the_world_steps(tmp_path) -> None:
    """The follower's SimulatedBus on the MuJoCo backend, read and written by the driver's Arm from one
    thread while another steps the physics (the world node's layout): the calibration the bus gives makes
    the Arm's radians the MuJoCo joint angles, and goals sent through it move the MuJoCo joints there."""
    import threading
    import time

    from robolearn_core.feetech.arm import Arm
    from robolearn_core.feetech.bus import FeetechBus
    from robolearn_core.feetech.sim_bus import SimulatedBus

    world = World()
    world.reset(5000)
    stop = threading.Event()

    def physics() -> None:
        while not stop.is_set():
            world.step(0.002)

    with SimulatedBus(tmp_path / 'follower', world.follower_backend) as sim:
        arm = Arm(FeetechBus(str(tmp_path / 'follower')), sim.calibration)
        arm.connect()
        # One encoder tick is 2 pi / 4096 = 1.5 mrad: the Arm reads the MuJoCo angles (at rest) to within that.
        np.testing.assert_allclose(arm.read_state().position, world.follower_backend.present_positions(), atol=0.0016)
        stepper = threading.Thread(target=physics, daemon=True)
        stepper.start()
        try:
            arm.set_torque(True)
            goal = np.array([-0.6, -0.4, 0.7, 1.1, 0.3, 0.6])
            start = arm.read_state().position
            for s in np.linspace(0.0, 1.0, 100):
                arm.write_goals(start + s * (goal - start))
            # the simulated bus applies the written goals on its own thread, in wall time, and the free-running physics
            # can pass 2 simulated seconds before it has (a loaded make test failed so): wait for the goals first
            actuators, deadline = world.follower_backend.actuators, time.monotonic() + 30
            while not np.allclose(world.data.ctrl[actuators], goal, atol=0.0016) and time.monotonic() < deadline:
                time.sleep(0.01)
            t0, deadline = world.time, time.monotonic() + 60
            while world.time - t0 < 2.0 and time.monotonic() < deadline:  # 2 simulated s to settle, however busy the machine
                time.sleep(0.01)
            # The actuators' targets are the goals to within a tick. The joints sag under gravity (kp 17.8 N m/rad,
            # like an STS3215): 0.019 rad at most at this pose (elbow), measured, hence 0.03.
            np.testing.assert_allclose(world.data.ctrl[world.follower_backend.actuators], goal, atol=0.0016)
            np.testing.assert_allclose(world.follower_backend.present_positions(), goal, atol=0.03)
        finally:
            stop.set()
            stepper.join(5)
            arm.bus.close()
