"""Feetech's own client (scservo_sdk) against the simulated bus: an independent check of the protocol."""

import time

import numpy as np
import pytest
import scservo_sdk as scs

from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints

IDS = [1, 2, 3, 4, 5, 6]
ADDR_TORQUE, ADDR_GOAL, ADDR_PRESENT = 40, 42, 56


@pytest.fixture
def client(tmp_path):
    backend = FirstOrderLagJoints(tau_s=0.02, initial=np.array([0.1, -0.2, 0.3, -0.4, 0.5, 0.6]))
    with SimulatedBus(tmp_path / 'ttySIM', backend) as sim:
        port = scs.PortHandler(str(tmp_path / 'ttySIM'))
        assert port.openPort() and port.setBaudRate(1_000_000)
        try:
            yield sim, port, scs.PacketHandler(0), backend
        finally:
            port.closePort()


def test_ping_reports_sts3215(client):
    _, port, ph, _ = client
    for i in IDS:
        model, result, error = ph.ping(port, i)
        assert (model, result, error) == (777, scs.COMM_SUCCESS, 0)
    _, result, _ = ph.ping(port, 9)
    assert result != scs.COMM_SUCCESS


def test_read_matches_the_backend(client):
    sim, port, ph, backend = client
    expected = sim.calibration.radians_to_ticks(backend.present_positions())
    for i, want in zip(IDS, expected):
        pos, result, error = ph.read2ByteTxRx(port, i, ADDR_PRESENT)
        assert result == scs.COMM_SUCCESS and error == 0
        assert abs(pos - want) <= 1


def test_sync_write_then_sync_read(client):
    sim, port, ph, backend = client
    goals = {i: 2047 + 100 * (k - 2) for k, i in enumerate(IDS)}
    writer = scs.GroupSyncWrite(port, ph, ADDR_GOAL, 2)
    for i, g in goals.items():
        assert writer.addParam(i, [scs.SCS_LOBYTE(g), scs.SCS_HIBYTE(g)])
    assert writer.txPacket() == scs.COMM_SUCCESS
    torque = scs.GroupSyncWrite(port, ph, ADDR_TORQUE, 1)
    for i in IDS:
        torque.addParam(i, [1])
    assert torque.txPacket() == scs.COMM_SUCCESS
    time.sleep(0.25)

    reader = scs.GroupSyncRead(port, ph, ADDR_PRESENT, 2)
    for i in IDS:
        assert reader.addParam(i)
    assert reader.txRxPacket() == scs.COMM_SUCCESS
    for i, g in goals.items():
        assert reader.isAvailable(i, ADDR_PRESENT, 2)
        assert abs(reader.getData(i, ADDR_PRESENT, 2) - g) <= 2
    np.testing.assert_allclose(
        backend.present_positions(), sim.calibration.ticks_to_radians(np.array(list(goals.values()))), atol=4e-3
    )


def test_write_and_reg_write_with_action(client):
    sim, port, ph, backend = client
    result, error = ph.write1ByteTxRx(port, 2, ADDR_TORQUE, 1)
    assert (result, error) == (scs.COMM_SUCCESS, 0)
    assert ph.read1ByteTxRx(port, 2, ADDR_TORQUE)[0] == 1
    result, error = ph.regWriteTxRx(port, 2, ADDR_GOAL, 2, [scs.SCS_LOBYTE(2300), scs.SCS_HIBYTE(2300)])
    assert result == scs.COMM_SUCCESS
    time.sleep(0.1)
    assert abs(ph.read2ByteTxRx(port, 2, ADDR_PRESENT)[0] - 2300) > 50, 'a REG_WRITE must wait for ACTION'
    assert ph.action(port, scs.BROADCAST_ID) == scs.COMM_SUCCESS
    time.sleep(0.25)
    assert abs(ph.read2ByteTxRx(port, 2, ADDR_PRESENT)[0] - 2300) <= 2
