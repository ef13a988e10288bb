"""sim_bus: serve a simulated SO-100 arm (six STS3215 servos) on a pseudo-terminal until SIGINT.

    sim_bus --link /tmp/so100_follower --role follower --calibration-out /tmp/so100_follower.json
    so100_driver --ros-args -p port:=/tmp/so100_follower -p calibration_file:=/tmp/so100_follower.json

The joints are a first-order lag (robolearn_core.lag_joints); the simulated world plugs its MuJoCo arm
into the same SimulatedBus instead.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

import numpy as np

from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints
from robolearn_core.so_arm.joints import JOINT_NAMES


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog='sim_bus', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--role', choices=('follower', 'leader'), default='follower', help='which arm (only sets the default --link)')
    p.add_argument('--link', help='stable device path (a symlink to the pty), default /tmp/so100_<role>')
    p.add_argument('--calibration-out', help='write the calibration that matches this simulated arm here (LeRobot JSON)')
    p.add_argument(
        '--uncalibrated',
        action='store_true',
        help='factory-fresh servos (Homing_Offset 0, limits 0..4095): run `calibrate` first',
    )
    p.add_argument('--wire-time', action='store_true', help='take each packet\'s time on a 1 Mbps wire')
    p.add_argument(
        '--latency-ms', type=float, default=0.0, help='extra delay before every reply (a USB adapter\'s latency timer), ms'
    )
    p.add_argument('--drop-probability', type=float, default=0.0, help='fault: chance that a reply is lost (0..1)')
    p.add_argument('--corrupt-probability', type=float, default=0.0, help='fault: chance that a reply has a bad checksum (0..1)')
    p.add_argument('--tau', type=float, default=0.05, help='time constant of the joints\' first-order response, s')
    p.add_argument(
        '--wave',
        type=float,
        default=0.0,
        metavar='RAD',
        help='a hand moves the limp joints (a leader) in slow sines of this amplitude around --pose, rad',
    )
    p.add_argument(
        '--pose', type=float, nargs=len(JOINT_NAMES), metavar='RAD', help=f'initial joint angles, rad ({" ".join(JOINT_NAMES)})'
    )
    return p.parse_args(argv)


def start_waving(backend: FirstOrderLagJoints, amplitude: float) -> None:
    """Move the joints along slow sines (periods 4..9 s) from a daemon thread, 100 times a second."""
    center = backend.present_positions()
    periods = np.linspace(4.0, 9.0, len(center))
    t0 = time.monotonic()

    def wave() -> None:
        while True:
            t = time.monotonic() - t0
            backend.move_to(center + amplitude * np.sin(2 * np.pi * t / periods))
            time.sleep(0.01)

    threading.Thread(target=wave, name='wave', daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    link = args.link or f'/tmp/so100_{args.role}'
    backend = FirstOrderLagJoints(tau_s=args.tau, initial=np.array(args.pose) if args.pose else None)
    sim = SimulatedBus(
        link, backend, calibrated=not args.uncalibrated, wire_time=args.wire_time, reply_latency_s=args.latency_ms / 1000.0
    )
    sim.faults.drop_probability = args.drop_probability
    sim.faults.corrupt_probability = args.corrupt_probability
    if args.calibration_out:
        if sim.calibration is None:
            print('sim_bus: --calibration-out needs a calibrated arm (drop --uncalibrated)', file=sys.stderr)
            return 2
        sim.calibration.save(args.calibration_out)
    if args.wave:
        start_waving(backend, args.wave)
    signal.signal(signal.SIGINT, lambda *_: sim.stop())
    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    print(f'sim_bus: simulated {args.role} arm (servos {list(sim.ids)}) on {link}; Ctrl-C to stop', flush=True)
    sim.serve_forever()
    print('sim_bus: stopped', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
