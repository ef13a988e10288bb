#!/usr/bin/env python3
"""Full bus cycles against the simulated STS3215 bus: sync read of 6 positions + sync write of 6 goals.

The simulated bus runs in its own process (as the servos are their own hardware), on a pseudo-terminal,
with 1 Mbps wire time on; the client is robolearn's FeetechBus, as in so100_driver. Prints progress,
then one JSON object last: {"hz", "p50_ms", "p99_ms", "max_ms", "cycles", "wire_ms", ...}.

    scripts/with-env python bench/bus_cycle.py --seconds 10
    scripts/with-env python bench/bus_cycle.py --seconds 5 --profile     # where the client's time goes
    scripts/with-env python bench/bus_cycle.py --seconds 5 --raw-pty     # the floor: pty round trips only
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
import tty
from pathlib import Path

import numpy as np
import serial
from tqdm import tqdm

from robolearn_core.feetech import protocol
from robolearn_core.feetech.bus import FeetechBus
from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_core.lag_joints import FirstOrderLagJoints

IDS = [1, 2, 3, 4, 5, 6]


def serve(link: str, wire_time: bool, ready) -> None:
    sim = SimulatedBus(link, FirstOrderLagJoints(), wire_time=wire_time)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    ready.set()
    sim.serve_forever()


def echo(link: str, reply_len: int, ready) -> None:
    """The floor: a pty whose other end answers every read with ``reply_len`` bytes, no protocol, no wire."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.symlink(os.ttyname(slave), link)
    ready.set()
    reply = bytes(reply_len)
    while True:
        data = os.read(master, 4096)
        if data and len(data) != 26:  # answer the 14-byte sync read, not the 26-byte sync write
            os.write(master, reply)


def echo_cycles(link: str, seconds: float) -> np.ndarray:
    """Raw pty round trips shaped like a bus cycle (write 14, read 48, write 26), through pyserial."""
    port = serial.Serial(link, 1_000_000, timeout=0.1)
    request, goals = bytes(14), bytes(26)
    durations = []
    end = time.perf_counter() + seconds
    while (t0 := time.perf_counter()) < end:
        port.write(request)
        port.read(48)
        port.write(goals)
        durations.append(time.perf_counter() - t0)
    port.close()
    return np.array(durations)


def wait_for(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f'{path} did not appear')
        time.sleep(0.01)


def run_cycles(bus: FeetechBus, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Cycle durations and the sync-read part of each, s."""
    goal = {i: 2047 for i in IDS}
    durations, reads = [], []
    bus.sync_write_register('Torque_Enable', {i: 1 for i in IDS})
    end = time.perf_counter() + seconds
    with tqdm(
        total=round(seconds), unit='s', desc='bus cycles', file=sys.stderr, bar_format='{l_bar}{bar}| {n}/{total} s'
    ) as bar:
        next_tick = time.perf_counter() + 1
        while (t0 := time.perf_counter()) < end:
            ticks = bus.sync_read_register('Present_Position', IDS)
            reads.append(time.perf_counter() - t0)
            goal = {i: 2047 + (ticks[i] - 2047 + 10) % 200 - 100 for i in IDS}
            bus.sync_write_register('Goal_Position', goal)
            t1 = time.perf_counter()
            durations.append(t1 - t0)
            if t1 >= next_tick:
                bar.update(1)
                next_tick += 1
    return np.array(durations), np.array(reads)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seconds', type=float, default=10.0, help='how long to run cycles back to back (default 10)')
    p.add_argument('--no-wire-time', action='store_true', help='turn the simulated 1 Mbps wire time off')
    p.add_argument(
        '--in-thread', action='store_true', help='serve the simulated bus in a thread of this process instead of its own process'
    )
    p.add_argument(
        '--raw-pty',
        action='store_true',
        help='measure only the pty round trip between two processes (no protocol, no wire time): the floor',
    )
    p.add_argument('--profile', action='store_true', help='cProfile the client side and print the top functions (to stderr)')
    args = p.parse_args(argv)

    link = Path(tempfile.mkdtemp(prefix='bus_cycle_')) / 'ttySIM'
    if args.raw_pty:
        ready = multiprocessing.Event()
        proc = multiprocessing.Process(target=echo, args=(str(link), 48, ready), daemon=True)
        proc.start()
        ready.wait(10)
        try:
            d = echo_cycles(str(link), args.seconds)
        finally:
            proc.terminate()
            proc.join(5)
        ms = d * 1000.0
        print(
            json.dumps(
                {
                    'hz': round(len(d) / d.sum(), 1),
                    'p50_ms': round(float(np.percentile(ms, 50)), 3),
                    'p99_ms': round(float(np.percentile(ms, 99)), 3),
                    'max_ms': round(float(ms.max()), 3),
                    'cycles': int(len(d)),
                    'sim': 'raw pty echo',
                }
            )
        )
        return 0
    wire = not args.no_wire_time
    sim = proc = None
    if args.in_thread:
        sim = SimulatedBus(link, FirstOrderLagJoints(), wire_time=wire).start()
    else:
        ready = multiprocessing.Event()
        proc = multiprocessing.Process(target=serve, args=(str(link), wire, ready), daemon=True)
        proc.start()
        ready.wait(10)
    try:
        wait_for(link)
        with FeetechBus(str(link)) as bus:
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            d, reads = run_cycles(bus, args.seconds)
            if profiler:
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats('tottime').print_stats(15)
                print(out.getvalue(), file=sys.stderr)
            stats = bus.stats
    finally:
        if sim is not None:
            sim.stop()
        if proc is not None:
            proc.terminate()
            proc.join(5)
    n_bytes = (
        len(protocol.sync_read(56, 2, IDS))
        + 6 * (protocol.OVERHEAD + 2)
        + len(protocol.sync_write(42, 2, {i: b'\0\0' for i in IDS}))
    )
    ms = d * 1000.0
    result = {
        'hz': round(len(d) / d.sum(), 1),
        'p50_ms': round(float(np.percentile(ms, 50)), 3),
        'p99_ms': round(float(np.percentile(ms, 99)), 3),
        'max_ms': round(float(ms.max()), 3),
        'read_p50_ms': round(float(np.percentile(reads, 50)) * 1000.0, 3),
        'write_p50_ms': round(float(np.percentile(d - reads, 50)) * 1000.0, 3),
        'cycles': int(len(d)),
        'wire_ms': round(protocol.wire_seconds(n_bytes, 1_000_000) * 1000.0 if wire else 0.0, 3),
        'retries': stats.retries,
        'sim': 'thread' if args.in_thread else 'process',
    }
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
