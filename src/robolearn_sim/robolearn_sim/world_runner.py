"""The simulated world in real time: episodes, the physics' clock against the wall clock, the scripted expert.

Why apart from the world node: when an episode starts (only once both drivers talk to their buses, and
after a reset only once the follower's commands have come back home), how the physics catches up with
the wall clock (at most ``MAX_CATCH_UP_TICKS`` ticks at once; what it cannot catch up is counted as lost
simulated time), and when the expert moves the leader are the world's rules, tested without ROS. The
node runs :meth:`tick` on its timer and publishes what this class reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_sim.graph_paths import BUSES_READY
from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.scripted_expert import ScriptedExpert
from robolearn_sim.world import HOME_POSITIONS, World

EXPERT_RATE = 50.0
MAX_CATCH_UP_TICKS = 5
#: Requests each simulated bus must have served before the first episode starts (a driver polling at
#: 125 Hz gets there in well under a second once it runs).
DRIVER_REQUESTS_TO_START = 50
#: After a reset the arm is put back home at once, but the commands on their way (teleop, driver) still
#: aim at the old pose: the episode clock starts when a goal within this distance of home (rad) arrives...
SETTLED_GOAL_RAD = 0.03
#: ...or after this many wall seconds, whichever comes first.
SETTLE_TIMEOUT_S = 3.0


class WorldRunner:
    """One world, its two simulated buses, and the episode in progress. ``log(text)`` and ``warn(text)`` report."""

    def __init__(self, ports: dict[str, str], calibration_files: dict[str, str], first_seed: int, expert: bool,
                 mesh_cell: float, physics_rate: float, log: Callable[[str], None], warn: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic, expert_fumbles: float = 0.0) -> None:
        self.ports, self.calibration_files = ports, calibration_files
        self.expert_enabled = expert
        self.expert_fumbles = expert_fumbles
        self.mesh_cell = mesh_cell
        self.physics_rate = physics_rate
        self.log, self.warn, self.clock = log, warn, clock
        self.world: World | None = None
        self.ik: TopDownIK | None = None
        self.expert: ScriptedExpert | None = None
        self.buses: dict[str, SimulatedBus] = {}
        self.episode_started = False
        self._settle_writes: int | None = None
        self._settle_until = 0.0
        self._next_seed = first_seed
        self._episode_wall_start = 0.0
        self._expert_due = 0.0
        self._start_joints = HOME_POSITIONS
        self.lost_s = 0.0  # wall seconds the simulation could not keep up with, this episode

    # --- loading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        """Build the world and serve both buses (seconds: the meshes are simplified here); logs BUSES_READY."""
        self.world = World(self.mesh_cell)
        self.ik = TopDownIK(self.world.model)
        self.world.reset(self._next_seed)  # both arms at home while the drivers connect
        backends = {'follower': self.world.follower_backend, 'leader': self.world.leader_backend}
        for role, backend in backends.items():
            bus = SimulatedBus(self.ports[role], backend)
            Path(self.calibration_files[role]).parent.mkdir(parents=True, exist_ok=True)
            bus.calibration.save(self.calibration_files[role])
            self.buses[role] = bus.start()
        # A new bus powers its servos up limp; the follower holds home until its driver takes over.
        self.world.follower_backend.set_goal_positions(self.world.follower_backend.present_positions(), np.ones(6, dtype=bool))
        self.log(f'{BUSES_READY}: follower on {self.ports["follower"]} (calibration {self.calibration_files["follower"]}), '
                 f'leader on {self.ports["leader"]} (calibration {self.calibration_files["leader"]}); '
                 'the first episode starts when both so100_drivers are talking to them')

    def stop_buses(self) -> None:
        """Remove the ptys and their symlinks (the drivers see the adapters vanish)."""
        for bus in self.buses.values():
            bus.stop()
        self.buses = {}

    # --- episodes --------------------------------------------------------------------------------------
    def reset(self) -> str:
        """Start the next seed's episode; raises ValueError for a seed past the documented ranges."""
        seed = self._next_seed
        layout = self.world.reset(seed)
        self._next_seed = seed + 1
        self.expert = ScriptedExpert(self.ik, layout, fumble_probability=self.expert_fumbles) if self.expert_enabled else None
        self._settle_writes = self.world.follower_backend.goal_writes
        self._settle_until = self.clock() + SETTLE_TIMEOUT_S
        self._start_joints = self.world.follower_backend.present_positions()
        self._episode_wall_start = self.clock()
        self.lost_s = 0.0
        self._expert_due = 0.0
        self.episode_started = True
        strategy = self.expert.strategy if self.expert else 'none'
        fumble = f' fumble={self.expert.fumble}' if self.expert and self.expert.fumble else ''
        self.log(f'episode seed={seed} strategy={strategy}{fumble}')
        return f'seed={seed} strategy={strategy}'

    def restart(self) -> str:
        """Start the current seed's episode again from home.

        Why: the first episode starts on its own once the drivers talk, while the cameras, the recorder or a
        harness may still be starting; with the expert on, the arm is then mid-task when they are ready, and a
        recording begun there is a fragment of a demonstration."""
        self._next_seed = self.world.layout.seed
        return self.reset()

    def _drivers_connected(self) -> bool:
        return all(bus.requests >= DRIVER_REQUESTS_TO_START for bus in self.buses.values())

    def _settled(self) -> bool:
        """Whether the follower's driver has sent a goal near home since the reset (or waited long enough)."""
        f = self.world.follower_backend
        fresh = f.goal_writes > self._settle_writes + 1
        near = fresh and bool(np.all(np.abs(f.last_goals - HOME_POSITIONS) < SETTLED_GOAL_RAD))
        if near or self.clock() > self._settle_until:
            if not near:
                self.warn(f'no goal near home from the follower driver {SETTLE_TIMEOUT_S:g} s after the reset; starting anyway')
            return True
        return False

    # --- the tick --------------------------------------------------------------------------------------
    def tick(self) -> bool:
        """One physics tick: load, start, settle, or advance the physics toward the wall clock; whether it ran."""
        if self.world is None:
            self.load()
            return False
        if not self.episode_started:
            if self._drivers_connected():
                self.reset()
            return False
        world = self.world
        if self._settle_writes is not None:
            if not self._settled():
                world.follower_backend.hold(HOME_POSITIONS)  # the world waits at home, its clock stopped
                self._episode_wall_start = self.clock()
                return False
            self._settle_writes = None
            self._episode_wall_start = self.clock()  # the episode's clock starts now, not at the last held tick
            world.follower_backend.set_goal_positions(world.follower_backend.last_goals, world.follower_backend.torque_enabled)
        t = world.time
        if self.expert is not None and not self.expert.done(t) and t >= self._expert_due:
            follower = world.follower_backend.present_positions()
            goal = self.expert.leader_goal(t, follower, 1.0 / EXPERT_RATE, self._start_joints, *world.cube_pose())
            world.leader_backend.move_to(goal, 1.0 / EXPERT_RATE)
            self._expert_due += 1.0 / EXPERT_RATE
        behind = (self.clock() - self._episode_wall_start - self.lost_s) - world.time
        seconds = min(behind, MAX_CATCH_UP_TICKS / self.physics_rate)
        if behind > seconds:  # too far behind to catch up: that wall time is lost to the simulation
            self.lost_s += behind - seconds
        if seconds >= world.model.opt.timestep:
            world.step(seconds)
        return True

    def real_time_factor(self) -> float:
        wall = self.clock() - self._episode_wall_start
        return self.world.time / wall if self.world is not None and wall > 0 else 0.0

    def episode(self) -> dict:
        """The episode as /sim/episode reports it (JSON-able)."""
        world = self.world
        return {
            'seed': world.layout.seed,
            'strategy': self.expert.strategy if self.expert else None,
            'retries': self.expert.retries if self.expert else None,
            'sim_time': round(world.time, 4),
            'expert_done': bool(self.expert.done(world.time)) if self.expert else None,
            'success': world.success(),
            'real_time_factor': round(self.real_time_factor(), 6),
            'lost_s': round(self.lost_s, 4),
        }
