"""The world's episode rules without ROS: start only when the drivers talk, hold after a reset until the
commands come home, and never run the physics in a burst when the process falls behind."""

import logging

import numpy as np
import pytest

from robolearn_core.feetech.bus import FeetechBus
from robolearn_sim.graph_paths import BUSES_READY, ROLES, graph_parameters
from robolearn_sim.world import HOME_POSITIONS
from robolearn_sim.world_runner import DRIVER_REQUESTS_TO_START, MAX_CATCH_UP_TICKS, SETTLE_TIMEOUT_S, WorldRunner

RATE = 100.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope='module')
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp('buses')
    params = graph_parameters(folder)['world_node']
    ports = {r: params[f'{r}_port'] for r in ROLES}
    calibrations = {r: params[f'{r}_calibration'] for r in ROLES}
    log = logging.getLogger('world-runner-test')
    clock = Clock()
    messages = []
    runner = WorldRunner(ports, calibrations, 5000, True, 0.002, RATE, messages.append, log.warning, clock)
    assert runner.tick() is False          # the first tick loads the world and serves the buses
    yield runner, clock, messages, ports
    runner.stop_buses()


def poll(port: str, times: int) -> None:
    """What a driver does: read the servos, ``times`` times."""
    with FeetechBus(port, timeout_s=0.05) as bus:
        for _ in range(times):
            bus.ping(1)


def test_loading_serves_both_buses_and_says_so(loaded):
    runner, _, messages, ports = loaded
    assert messages[0].startswith(BUSES_READY)
    assert all(runner.buses[r].requests == 0 for r in ROLES)


def test_the_episode_waits_for_both_drivers_then_holds_until_settled_then_catches_up_at_most_a_few_ticks(loaded):
    runner, clock, messages, ports = loaded
    poll(ports['follower'], DRIVER_REQUESTS_TO_START)
    assert runner.tick() is False and not runner.episode_started   # the leader's driver is not there yet
    poll(ports['leader'], DRIVER_REQUESTS_TO_START)
    assert runner.tick() is False and runner.episode_started
    assert messages[-1].startswith('episode seed=5000 strategy=')

    # no goal came back home from a follower driver: the clock stays stopped until the settle timeout
    t_reset = runner.world.time
    clock.t += 0.5
    assert runner.tick() is False and runner.world.time == t_reset
    np.testing.assert_allclose(runner.world.follower_backend.last_goals, HOME_POSITIONS, atol=1e-9)
    clock.t += SETTLE_TIMEOUT_S
    assert runner.tick() is True

    # in step with the wall clock: a tick's worth
    clock.t += 1.0 / RATE
    before = runner.world.time
    runner.tick()
    assert runner.world.time - before == pytest.approx(1.0 / RATE, abs=2e-3)
    assert runner.lost_s == 0.0

    # a one-second stall: at most MAX_CATCH_UP_TICKS ticks are simulated, the rest is counted as lost
    clock.t += 1.0
    before = runner.world.time
    runner.tick()
    assert runner.world.time - before == pytest.approx(MAX_CATCH_UP_TICKS / RATE, abs=2e-3)
    assert runner.lost_s == pytest.approx(1.0 - MAX_CATCH_UP_TICKS / RATE, abs=0.02)
    episode = runner.episode()
    assert episode['seed'] == 5000 and episode['lost_s'] > 0.9 and episode['real_time_factor'] < 0.1


def test_a_restart_runs_the_same_seed_again_from_home_and_the_next_reset_counts_on(loaded):
    runner, clock, messages, ports = loaded
    seed = runner.episode()['seed']
    clock.t += 2.0
    runner.tick()
    assert runner.world.time > 0.0 and runner.expert is not None
    assert runner.restart().startswith(f'seed={seed} ')
    assert runner.world.time == 0.0 and runner.episode()['seed'] == seed
    np.testing.assert_allclose(runner.world.follower_backend.present_positions(), HOME_POSITIONS, atol=1e-6)
    assert runner.reset().startswith(f'seed={seed + 1} ')
