"""The simulated STS3215 bus, through a real pseudo-terminal and pyserial, with FeetechBus as the client."""

import select
import time
from types import SimpleNamespace

import numpy as np
import pytest

from robolearn_core.feetech import bus as bus_module
from robolearn_core.feetech.bus import BusDisconnected, BusTimeout, FeetechBus
from robolearn_core.feetech.protocol import StatusError
from robolearn_core.feetech.sim_bus import DEFAULT_ZERO_TICKS, SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints

IDS = [1, 2, 3, 4, 5, 6]
START = np.array([0.3, -0.5, 0.8, -0.2, 1.0, 0.4])


@pytest.fixture
def arm(tmp_path):
    backend = FirstOrderLagJoints(tau_s=0.02, initial=START)
    with SimulatedBus(tmp_path / 'ttySIM', backend) as sim:
        with FeetechBus(str(tmp_path / 'ttySIM'), timeout_s=0.02, retries=2) as bus:
            yield sim, bus, backend


def positions(sim, bus):
    ticks = bus.sync_read_register('Present_Position', IDS)
    return sim.calibration.ticks_to_radians(np.array([ticks[i] for i in IDS]))


def test_link_is_a_pty_symlink(arm, tmp_path):
    sim, _, _ = arm
    link = tmp_path / 'ttySIM'
    assert link.is_symlink() and str(link.resolve()).startswith('/dev/pts/')


def test_ping_read_and_registers(arm):
    sim, bus, _ = arm
    assert all(bus.ping(i) for i in IDS)
    assert not bus.ping(7)
    assert bus.read_register(1, 'Model_Number') == 777
    # the simulated arm is calibrated: the offset makes joint angle 0 read 2047
    assert bus.read_register(2, 'Homing_Offset') == DEFAULT_ZERO_TICKS[1] - 2047
    assert bus.read_register(3, 'Present_Voltage') == 120


def test_positions_are_the_backends_radians(arm):
    sim, bus, _ = arm
    np.testing.assert_allclose(positions(sim, bus), START, atol=1.0 / 650)  # within a tick


def test_sync_write_moves_torque_enabled_joints_only(arm):
    sim, bus, backend = arm
    goal = np.array([0.0, 0.2, -0.3, 0.5, -1.0, 0.1])
    ticks = sim.calibration.radians_to_ticks(goal)
    bus.sync_write_register('Goal_Position', {i: int(t) for i, t in zip(IDS, ticks)})
    bus.sync_write_register('Torque_Enable', {i: int(i != 6) for i in IDS})
    time.sleep(0.25)  # > 10 time constants
    now = positions(sim, bus)
    np.testing.assert_allclose(now[:5], goal[:5], atol=3e-3)
    assert abs(now[5] - START[5]) < 3e-3, 'the gripper has torque off and must not move'
    speed = bus.sync_read_register('Present_Speed', IDS)
    assert all(abs(v) < 20 for v in speed.values())


def test_goals_are_clamped_to_the_position_limits(arm):
    sim, bus, backend = arm
    bus.write_register(1, 'Goal_Position', 4000)  # beyond Max_Position_Limit
    bus.write_register(1, 'Torque_Enable', 1)
    time.sleep(0.2)
    assert bus.read_register(1, 'Present_Position') == pytest.approx(sim.calibration.motors['shoulder_pan'].range_max, abs=1)


def test_dropped_and_corrupted_replies_are_retried_and_counted(arm):
    sim, bus, _ = arm
    sim.faults.drop_replies = 1
    sim.faults.corrupt_replies = 1
    got = bus.sync_read_register('Present_Position', IDS)
    assert sorted(got) == IDS
    assert bus.stats.retries == 1
    assert bus.stats.servos[1].timeouts == 1  # the first reply (servo 1) was dropped
    assert bus.stats.servos[2].checksum_errors == 1  # the second corrupted


def test_dead_servo_raises_with_partial_results(arm):
    sim, bus, _ = arm
    sim.faults.dead_ids.add(3)
    with pytest.raises(BusTimeout, match=r'servo\(s\) \[3\]') as err:
        bus.sync_read_register('Present_Position', IDS)
    assert err.value.missing == [3] and sorted(err.value.partial) == [1, 2, 4, 5, 6]
    assert bus.stats.servos[3].timeouts == 3 and bus.stats.retries == 2
    assert not bus.ping(3)
    sim.faults.dead_ids.clear()
    assert sorted(bus.sync_read_register('Present_Position', IDS)) == IDS


def test_latency_beyond_the_timeout_is_a_timeout(arm):
    sim, bus, _ = arm
    sim.faults.extra_latency_s = 0.005
    assert bus.ping(1)  # 5 ms < 20 ms timeout
    sim.faults.extra_latency_s = 0.1  # beyond 3 tries x 20 ms
    assert not bus.ping(1)
    assert bus.stats.servos[1].timeouts == 3
    sim.faults.extra_latency_s = 0.0
    time.sleep(0.5)  # let the late replies arrive; the bus must discard them
    assert bus.read_register(4, 'Model_Number') == 777


def test_a_pause_of_the_whole_machine_is_not_a_timeout(arm, monkeypatch):
    """A loaded VM stopped every process at once for up to 1 s (a bare Python sleep loop saw it too): the servo
    and the driver stop together and the wait's deadline passes while nobody runs. No process can do that to
    the machine here (SIGSTOP does not: the kernel restarts a stopped select with its remaining time), so a
    stand-in for the kernel's select returns "nothing yet" after the pause, as the guest kernel does."""
    sim, bus, _ = arm
    bus.retries = 0  # one timeout would show
    real_select = select.select
    paused = []

    def select_after_a_machine_pause_double(r, w, x, timeout):
        if not paused:  # the first wait: the machine stops for 0.15 s (7 timeouts); the reply arrives meanwhile
            paused.append(timeout)
            time.sleep(timeout + 0.15)
            return [], [], []
        return real_select(r, w, x, timeout)

    # only the bus's own wait sees the stand-in (pyserial's writes and the simulated servos keep the real select)
    monkeypatch.setattr(bus_module, 'select', SimpleNamespace(select=select_after_a_machine_pause_double))
    assert bus.ping(1), 'an answering servo was counted silent across a pause of the whole machine'
    assert paused and bus.stats.pauses == 1 and bus.stats.servos[1].timeouts == 0
    monkeypatch.setattr(bus_module, 'select', select)
    sim.faults.extra_latency_s = 0.1  # a servo that is really late still times out, no pause involved
    assert not bus.ping(1)
    # (pauses may grow here: under make test's load this thread itself can wake > 20 ms late, a real pause)
    assert bus.stats.servos[1].timeouts == 1


def test_status_error_bits_are_counted(arm):
    sim, bus, _ = arm
    sim.faults.status_errors[5] = StatusError.OVERHEAT
    assert bus.read_register(5, 'Present_Temperature') == 75
    assert bus.stats.servos[5].last_status_error == StatusError.OVERHEAT and bus.stats.servos[5].status_errors == 1


def test_device_vanishes_and_returns_under_the_same_link(arm, tmp_path):
    sim, bus, _ = arm
    sim.vanish()
    assert not (tmp_path / 'ttySIM').exists()
    with pytest.raises(BusDisconnected):
        bus.sync_read_register('Present_Position', IDS)
    assert not bus.is_open
    with pytest.raises(BusDisconnected, match='cannot open'):
        bus.open()
    sim.reappear()
    bus.open()
    assert sorted(bus.sync_read_register('Present_Position', IDS)) == IDS
    assert sim.device is not None


def test_power_cycle_makes_the_arm_limp(arm):
    sim, bus, backend = arm
    bus.sync_write_register('Torque_Enable', {i: 1 for i in IDS})
    sim.vanish(power_cycle=True)
    assert not backend.torque_enabled().any()
    sim.reappear()


def test_wire_time_is_taken(tmp_path):
    backend = FirstOrderLagJoints()
    with SimulatedBus(tmp_path / 'tty', backend, wire_time=True, baudrate=115_200):
        with FeetechBus(str(tmp_path / 'tty')) as bus:
            bus.sync_read_register('Present_Position', IDS)
            t0 = time.perf_counter()
            for _ in range(5):
                bus.sync_read_register('Present_Position', IDS)
            per_cycle = (time.perf_counter() - t0) / 5
    # request 12 bytes + 6 replies of 8 bytes = 60 bytes * 10 bits at 115200 baud = 5.2 ms
    assert per_cycle >= 60 * 10 / 115_200


def test_status_level_zero_answers_only_reads(arm):
    sim, bus, _ = arm
    with pytest.raises(BusTimeout):  # the level applies at once: no reply to this write either
        bus.write_register(4, 'Response_Status_Level', 0)
    with pytest.raises(BusTimeout):
        bus.write_register(4, 'Acceleration', 10)  # applied, but unanswered
    assert bus.read_register(4, 'Acceleration') == 10 and bus.ping(4)


def test_a_second_program_cannot_open_the_same_bus(arm, tmp_path):
    with pytest.raises(BusDisconnected, match='another program .* is using it'):
        FeetechBus(str(tmp_path / 'ttySIM')).open()
