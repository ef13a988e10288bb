"""Run scripted-expert episodes in plain Python: expert -> leader arm -> follower goals at 50 Hz -> physics.

This is the in-process loop (no ROS, no bus): the benchmarks and tests use it to measure the expert.
The ROS graph runs the same pieces with the teleop node between the leader and the follower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.scripted_expert import ScriptedExpert
from robolearn_sim.world import World

CONTROL_RATE = 50.0
#: Simulated seconds the cube gets to settle after the expert is done, before success is judged.
SETTLE_TIME = 0.5


@dataclass(frozen=True)
class EpisodeResult:
    seed: int
    strategy: str
    success: bool
    sim_time: float
    fumble: str | None = None  # how the first grasp was fumbled on purpose (robolearn_sim.scripted_expert.FUMBLES)
    retries: int = 0           # grasps the expert had to make again


def run_expert_episode(world: World, ik: TopDownIK, seed: int, strategy: str | None = None,
                       fumble_probability: float = 0.0) -> EpisodeResult:
    """One episode: reset to ``seed``, the expert moves the leader, the follower copies it at 50 Hz."""
    layout = world.reset(seed)
    expert = ScriptedExpert(ik, layout, strategy, fumble_probability)
    dt = 1.0 / CONTROL_RATE
    start = world.follower_backend.present_positions()
    enabled = np.ones(6, dtype=bool)
    t = 0.0
    while not expert.done(t):
        follower = world.follower_backend.present_positions()
        goal = expert.leader_goal(t, follower, dt, start, *world.cube_pose())
        world.leader_backend.move_to(goal, dt)
        world.follower_backend.set_goal_positions(world.leader_backend.present_positions(), enabled)
        world.step(dt)
        t += dt
    world.step(SETTLE_TIME)
    return EpisodeResult(seed, expert.strategy, world.success(), world.time, expert.fumble, expert.retries)
