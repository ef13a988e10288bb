"""calibrate: walk a person through LeRobot's calibration of one SO-100/SO-101 arm and write its JSON.

    calibrate --port /dev/ttyACM0 --role follower --output ~/.cache/robolearn/calibration/so100_follower.json

The file is LeRobot's format (one entry per joint: id, drive_mode, homing_offset, range_min, range_max);
the servos get the Homing_Offset and position limits written into their EEPROM. Give the same file to
so100_driver (parameter calibration_file).
"""

from __future__ import annotations

import argparse
import select
import sys
from pathlib import Path

from robolearn_core.calibration import CalibrationError
from robolearn_core.feetech import calibrate_procedure as procedure
from robolearn_core.feetech.bus import BusError, FeetechBus
from robolearn_core.feetech.usb_latency import latency_advice
from robolearn_core.so_arm.joints import JOINT_NAMES

IDS = [1, 2, 3, 4, 5, 6]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog='calibrate', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--port', required=True, help='serial device of the arm, e.g. /dev/ttyACM0')
    p.add_argument('--role', choices=('follower', 'leader'), required=True, help='which arm (names the default output file)')
    p.add_argument('--output', help='calibration JSON to write (default ~/.cache/robolearn/calibration/so100_<role>.json)')
    p.add_argument('--baudrate', type=int, default=1_000_000, help='bus baud rate (default 1000000)')
    p.add_argument('--sample-hz', type=float, default=50.0, help='how often positions are read while recording ranges')
    return p.parse_args(argv)


def wait_enter(prompt: str) -> None:
    print(prompt, flush=True)
    if not sys.stdin.readline():
        raise CalibrationError('standard input closed before ENTER: calibration aborted, nothing written')


def record_until_enter(recorder: procedure.RangeRecorder, period_s: float) -> None:
    """Sample positions until a line arrives on stdin, showing the ranges seen so far."""
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], period_s)
        if ready:
            if not sys.stdin.readline():
                raise CalibrationError('standard input closed before ENTER: calibration aborted, nothing written')
            return
        recorder.sample()
        if recorder.samples % 25 == 1 and sys.stdout.isatty():
            cols = '  '.join(f'{n[:11]:>11} {lo:4d}..{hi:4d}' for n, lo, hi in zip(JOINT_NAMES, recorder.lo, recorder.hi))
            print(f'\r{cols}', end='', flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    output = Path(args.output or Path.home() / '.cache' / 'robolearn' / 'calibration' / f'so100_{args.role}.json').expanduser()
    bus = FeetechBus(args.port, args.baudrate)
    try:
        bus.open()
        procedure.check_servos(bus, IDS)
        procedure.prepare(bus, IDS)
        print(f'Calibrating the {args.role} arm on {args.port} (torque is off: the arm can be moved by hand).')
        advice = latency_advice(args.port)
        if advice:
            print(f'Note: {advice}')
        wait_enter('Step 1/2: move the arm to the MIDDLE of its range of motion, then press ENTER.')
        offsets = procedure.set_half_turn_homing(bus, IDS)
        print(f'Homing offsets: {dict(zip(JOINT_NAMES, offsets.values()))}')
        recorder = procedure.RangeRecorder(bus, IDS)
        wait_enter_prompt = (
            'Step 2/2: move every joint except wrist_roll, one after the other, through its ENTIRE range of motion.\n'
            'Recording positions. Press ENTER when done.'
        )
        print(wait_enter_prompt, flush=True)
        record_until_enter(recorder, 1.0 / args.sample_hz)
        calibration = procedure.finish(bus, IDS, offsets, recorder)
        calibration.save(output)
    except (CalibrationError, BusError) as e:
        print(f'\ncalibrate: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('\ncalibrate: interrupted, nothing written', file=sys.stderr)
        return 130
    finally:
        bus.close()
    print("\nRanges: " + ', '.join(f'{n} {m.range_min}..{m.range_max}' for n, m in calibration.motors.items()))
    print(f'Calibration written to {output}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
