"""`calibrate` end to end: a person (this test) answers its prompts on stdin and moves a simulated arm."""

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from robolearn_core.calibration import TICKS_PER_RAD, ArmCalibration
from robolearn_core.feetech.arm import Arm
from robolearn_core.feetech.bus import FeetechBus
from robolearn_core.feetech.sim_bus import DEFAULT_ZERO_TICKS, SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints
from robolearn_ros.process_graph import find_executable

# How far each joint is moved each way from the middle pose (wrist_roll is not moved: full turn).
SWEEP = np.array([1.2, 1.0, 1.4, 0.9, 0.0, 0.8])


class Session:
    """The calibrate process with its stdout read line by line in a thread."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()

    def expect(self, text, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f'calibrate did not print {text!r}; output so far:\n{"".join(self.seen)}')

    def enter(self):
        self.proc.stdin.write('\n')
        self.proc.stdin.flush()

    def finish(self, timeout=15.0):
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, ''.join(self.seen)



def calibrate_session(sim: SimulatedBus, role: str, out: Path) -> Session:
    """`calibrate` on the simulated bus in a terminal session, writing ``out``."""
    return Session([str(find_executable('robolearn_hardware', 'calibrate')), '--port', str(sim.port_link),
                    '--role', role, '--output', str(out)])

def test_calibrate_walks_through_lerobots_procedure(tmp_path):
    start = np.array([0.5, -0.3, 0.2, 0.4, -0.6, 0.1])  # somewhere, not the middle
    backend = FirstOrderLagJoints(initial=start)
    out = tmp_path / 'follower.json'
    with SimulatedBus(tmp_path / 'tty', backend, calibrated=False) as sim:
        s = calibrate_session(sim, 'follower', out)
        s.expect('MIDDLE of its range')
        backend.move_to(np.zeros(6))  # the person puts the arm in the middle
        s.enter()
        s.expect('Press ENTER when done')
        for k in range(6):  # each joint end to end, slowly enough to be sampled
            for x in np.concatenate([np.linspace(0, -1, 8), np.linspace(-1, 1, 15), np.linspace(1, 0, 8)]):
                pose = np.zeros(6)
                pose[k] = x * SWEEP[k]
                backend.move_to(pose)
                time.sleep(0.15 if abs(x) == 1 else 0.01)  # a person pauses at each end stop
        time.sleep(0.1)
        s.enter()
        code, output = s.finish()
        assert code == 0, output
        assert f'Calibration written to {out}' in output

        data = json.loads(out.read_text())
        cal = ArmCalibration.load(out)
        for k, (name, m) in enumerate(cal.motors.items()):
            assert data[name]['id'] == k + 1 and m.drive_mode == 0
            assert m.homing_offset == DEFAULT_ZERO_TICKS[k] - 2047, name  # the middle pose reads 2047
            if name == 'wrist_roll':
                assert (m.range_min, m.range_max) == (0, 4095)
            else:
                span = SWEEP[k] * TICKS_PER_RAD
                assert m.range_min == pytest.approx(2047 - span, abs=2) and m.range_max == pytest.approx(2047 + span, abs=2), name

        # The servos carry it (EEPROM) and the arm now reads in radians around the middle pose.
        with FeetechBus(str(sim.port_link)) as bus:
            assert bus.sync_read_register('Min_Position_Limit', [1, 2, 3, 4, 5, 6])[3] == cal.motors['elbow_flex'].range_min
            arm = Arm(bus, cal)
            arm.bus.close()
            arm.connect()
            backend.move_to(np.array([0.3, -0.2, 0.1, 0.25, 0.0, 0.4]))
            np.testing.assert_allclose(
                arm.read_state().position, [0.3, -0.2, 0.1, 0.25, 0.0 - 0.5 / TICKS_PER_RAD, 0.4], atol=2e-3
            )


def test_calibrate_refuses_an_unmoved_joint_and_writes_nothing(tmp_path):
    backend = FirstOrderLagJoints()
    out = tmp_path / 'leader.json'
    with SimulatedBus(tmp_path / 'tty', backend, calibrated=False) as sim:
        s = calibrate_session(sim, 'leader', out)
        s.expect('MIDDLE of its range')
        s.enter()
        s.expect('Press ENTER when done')
        s.enter()
        code, output = s.finish()
    assert code == 1
    assert "did not move" in output and 'shoulder_pan' in output
    assert not out.exists()


def test_calibrate_names_missing_servos(tmp_path):
    with SimulatedBus(tmp_path / 'tty', FirstOrderLagJoints(), calibrated=False) as sim:
        sim.faults.dead_ids.update({2, 5})
        s = Session(
            [
                str(find_executable('robolearn_hardware', 'calibrate')),
                '--port',
                str(sim.port_link),
                '--role',
                'follower',
                '--output',
                str(tmp_path / 'x.json'),
            ]
        )
        code, output = s.finish()
    assert code == 1 and 'servo(s) [2, 5] do not answer' in output
