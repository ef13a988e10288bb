"""The driver's state machine without ROS: the simulated bus on a real pty, a fake clock for the reconnect timer."""

import logging
import time

import numpy as np
import pytest

from robolearn_core.feetech.arm_controller import ArmController, ArmSettings
from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints

START = np.array([0.2, -0.4, 0.6, -0.3, 0.5, 0.3])


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def sim(tmp_path):
    backend = FirstOrderLagJoints(tau_s=0.01, initial=START)
    with SimulatedBus(tmp_path / 'so100', backend) as bus:
        yield bus


def controller(sim, clock=None, **settings):
    log = logging.getLogger('arm-controller-test')
    return ArmController(ArmSettings(port=str(sim.port_link), **settings), sim.calibration, log, clock or Clock())


def run(c, ticks, clock=None, dt=0.01):
    states = []
    for _ in range(ticks):
        states.append(c.tick())
        if clock is not None:
            clock.t += dt
        time.sleep(0.002)
    return states


def test_follower_holds_where_it_is_then_follows_the_target_within_the_step_limit(sim):
    c = controller(sim, max_step_rad=0.05)
    c.connect()
    assert c.torque_on and c.connected
    np.testing.assert_allclose(c.last_goal, START, atol=2e-3)   # torque on holds the measured position
    target = START + np.array([0.3, 0, 0, 0, 0, 0])
    c.set_target(target)
    goals = []
    for _ in range(8):
        c.tick()
        goals.append(c.last_goal[0])
    steps = np.diff([START[0], *goals])
    assert np.all(steps <= 0.05 + 1e-9) and goals[-1] == pytest.approx(target[0], abs=1e-6)
    c.close()


def test_leader_never_takes_torque(sim):
    c = controller(sim, role='leader')
    c.connect()
    assert not c.torque_on
    assert c.set_torque(True) == (False, 'torque is never enabled on the leader arm')
    c.close()


def test_a_dead_servo_is_reported_and_recovers(sim, caplog):
    caplog.set_level(logging.INFO)
    c = controller(sim)
    c.connect()
    sim.faults.dead_ids.add(3)
    assert run(c, 2)[-1] is None
    assert '[3]' in c.problem
    sim.faults.dead_ids.clear()
    states = run(c, 3)
    assert states[-1] is not None and c.problem == ''
    assert 'recovered after 0.00 s: servo(s) [3]' in caplog.text
    c.close()


def test_a_short_silence_is_a_warning_a_long_one_an_error(sim, caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    c = controller(sim, clock, retries=0, silent_error_s=1.0)  # the default 20 ms timeout: 5 ms failed connect under load
    c.connect()
    sim.faults.dead_ids.add(2)
    run(c, 30, clock, dt=0.02)  # 0.6 s silent
    assert c.briefly_silent and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r for r in caplog.records if r.levelno == logging.WARNING and '[2]' in r.getMessage()]
    sim.faults.dead_ids.clear()
    run(c, 2, clock)
    assert c.problem == '' and 'recovered after 0.6' in caplog.text and c.silences == 1
    sim.faults.dead_ids.add(2)
    run(c, 60, clock, dt=0.02)  # 1.2 s silent
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and '[2]' in errors[0] and 'silent for 1.0' in errors[0]
    assert not c.briefly_silent and c.silences == 2
    c.close()


def test_an_adapter_that_vanishes_during_a_short_silence_is_an_error_at_once(sim, caplog):
    clock = Clock()
    c = controller(sim, clock, retries=0, silent_error_s=1.0)  # the default 20 ms timeout: 5 ms failed connect under load
    c.connect()
    sim.faults.dead_ids.add(2)
    run(c, 5, clock, dt=0.02)
    assert c.briefly_silent
    sim.vanish()
    time.sleep(0.1)
    for _ in range(20):
        if c.tick() is None and not c.connected:
            break
    assert not c.connected and 'disconnected' in c.problem and not c.briefly_silent
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and 'disconnected' in r.getMessage()]
    c.close()


def test_a_vanished_adapter_is_reopened_on_the_clock_and_the_arm_reread_before_commanding(sim):
    clock = Clock()
    c = controller(sim, clock, reconnect_period_s=0.5)
    c.connect()
    c.set_target(START + 0.2)
    sim.vanish(power_cycle=True)                      # unplugged: the servos come back limp
    time.sleep(0.1)
    for _ in range(20):
        if c.tick() is None and not c.connected:
            break
    assert not c.connected and not c.torque_on and 'disconnected' in c.problem
    sim.backend.move_to(START - 0.1)                  # the arm was moved by hand while the bus was gone
    sim.reappear()
    time.sleep(0.2)
    clock.t += 0.4
    c.tick()
    assert not c.connected, 'reopened before reconnect_period_s'
    clock.t += 0.2
    c.tick()
    assert c.connected and c.reconnects == 1 and c.torque_on
    assert c.target is None                           # the old command is forgotten: hold the re-read position
    np.testing.assert_allclose(c.last_goal, START - 0.1, atol=3e-3)
    c.close()
