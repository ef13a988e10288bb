#!/usr/bin/env python3
"""The 50 Hz executor in the real graph: period error, stalls and jumps at chunk switches, against two peers.

The simulated world (no expert), the follower driver on its simulated bus, two sim cameras and the policy
node on CPU with a trained checkpoint run as in policy.launch.py; then, one after the other on fresh
episodes, each executor drives the follower for ``--seconds``:

- ``robolearn``: executor_node (absolute schedule, queue sampled in time, merge mode, safety filter);
- ``sleep_dt``: the same tick in a loop that sleeps 1/rate after each tick (bench/executor_peers.py);
- ``pop_per_tick``: LeRobot-style: one action of the chunk popped per tick, by index (bench/executor_peers.py).

Measured here from what each one published (the same way for all three): the period error of the command
stamps (|interval - 1/rate|, p50/p99/max, ms), the step of the first command after each chunk arrived
(``max_switch_jump_rad``) against the largest step between switches (``max_step_rad``) and the policy's own
step per tick (``policy_step_rad``: its chunks' largest setpoint-to-setpoint motion, per 1/rate), what the
switches added beyond the plan's own step (``max_switch_added_rad``, robolearn's executor's count), RMS jerk,
and the fraction of ticks that repeated the previous command (``held_fraction``); ``stalls`` are each
executor's own count of ticks on an empty queue. The last line is one JSON object (robolearn's figures at the
top level, each peer's under its name).

    scripts/with-env python bench/executor.py --checkpoint DIR --seconds 20
    scripts/with-env python bench/executor.py --checkpoint DIR --sweep --seconds 12 --table docs/executor-sweep.md
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from markdown_table import markdown_table  # noqa: E402  (bench/, beside this script)

from robolearn_core.control.action_queue import MODES  # noqa: E402
from robolearn_core.control.motion_stats import chunk_step_per_tick  # noqa: E402
from robolearn_eval.sim_graph import SimGraph, bus_paths, graph_nodes  # noqa: E402
from robolearn_ros.trajectories import msg_fields, to_seconds  # noqa: E402

RATE = 50.0
TABLE_COLUMNS = ('aggregation', 'threshold', 'delay_s', 'max_switch_jump_rad', 'max_switch_added_rad', 'max_step_rad',
                 'policy_step_rad', 'rms_jerk', 'stalls', 'held_fraction', 'period_p99_err_ms')


class Watch:
    """What the bench sees on the graph: commands, chunk arrivals, diagnostics; and the services it calls."""

    def __init__(self) -> None:
        self.node = rclpy.create_node('bench_executor')
        self.commands: list[tuple[float, np.ndarray]] = []
        self.chunks: list[tuple[float, np.ndarray]] = []     # (arrival, positions)
        self.status: dict[str, dict[str, str]] = {}
        self.node.create_subscription(JointState, '/follower/joint_commands', self._on_command, 100)
        self.node.create_subscription(JointTrajectory, '/policy/action_chunk', self._on_chunk, 10)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, 50)
        self.reset_world = self.node.create_client(Trigger, '/world_node/reset')
        self.reset_policy = self.node.create_client(Trigger, '/policy_node/reset')

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def _on_command(self, msg: JointState) -> None:
        self.commands.append((to_seconds(msg.header.stamp), np.array(msg.position)))

    def _on_chunk(self, msg: JointTrajectory) -> None:
        self.chunks.append((self.now(), np.array(msg_fields(msg)[1])))

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for s in msg.status:
            self.status[s.name.split(':')[0]] = {kv.key: kv.value for kv in s.values}

    def spin(self, seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            rclpy.spin_once(self.node, timeout_sec=0.02)

    def call(self, client, timeout: float = 30.0) -> None:
        self.spin(timeout, until=client.service_is_ready)
        future = client.call_async(Trigger.Request())
        self.spin(timeout, until=future.done)

    def clear(self) -> None:
        self.commands, self.chunks = [], []


def figures(watch: Watch, start: float, fps: float) -> dict:
    """The motion and timing figures of the commands published since ``start`` (wall ROS time)."""
    cmds = [(t, q) for t, q in watch.commands if t >= start]
    if len(cmds) < 10:
        return {'error': f'only {len(cmds)} commands'}
    stamps = np.array([t for t, _ in cmds])
    q = np.stack([c for _, c in cmds])
    err = np.abs(np.diff(stamps) - 1.0 / RATE) * 1000.0
    steps = np.abs(np.diff(q, axis=0)).max(axis=1)
    arrivals = [t for t, _ in watch.chunks if t >= start]
    switch = np.zeros(len(steps), dtype=bool)
    for t in arrivals:
        k = np.searchsorted(stamps, t)  # the first command after the chunk arrived
        if 1 <= k < len(stamps):
            switch[k - 1] = True
    policy_step = [chunk_step_per_tick(p, 1.0 / fps, 1.0 / RATE) for t, p in watch.chunks if t >= start and len(p) > 1]
    jerk = np.diff(q, n=3, axis=0) * RATE ** 3
    return {
        'period_p50_err_ms': round(float(np.percentile(err, 50)), 3),
        'period_p99_err_ms': round(float(np.percentile(err, 99)), 3),
        'period_max_err_ms': round(float(err.max()), 3),
        'commands': len(cmds),
        'chunks': len(arrivals),
        'max_switch_jump_rad': round(float(steps[switch].max()), 4) if switch.any() else 0.0,
        'max_step_rad': round(float(steps[~switch].max()), 4) if (~switch).any() else 0.0,
        'policy_step_rad': round(float(np.median(policy_step)), 4) if policy_step else None,
        'rms_jerk': round(float(np.sqrt(np.mean(jerk ** 2))), 1),
        'held_fraction': round(float(np.mean(steps == 0.0)), 4),
    }


def run_executor(graph: SimGraph, watch: Watch, variant: str, params: dict, seconds: float, fps: float) -> dict:
    """One executor on a fresh episode for ``seconds``; its figures."""
    calibration = bus_paths()['so100_follower']['calibration_file']
    watch.call(watch.reset_world)
    watch.spin(0.3)
    watch.call(watch.reset_policy)
    if variant == 'robolearn':
        proc = graph.graph.start('robolearn_executor', 'executor_node', name='executor_node',
                                 params_file=Path(os.environ['ROBOLEARN_ROOT']) / 'config' / 'policy.yaml',
                                 params={**params, 'calibration_file': calibration})
    else:
        proc = graph.graph.start_command([sys.executable, str(REPO / 'bench' / 'executor_peers.py'), variant],
                                         label=variant, params=params)
    watch.clear()
    watch.spin(60, until=lambda: len(watch.chunks) > 0)
    start = watch.now()
    watch.spin(seconds)
    result = figures(watch, start, fps)
    status = watch.status.get('executor_node', {}) if variant == 'robolearn' else {}
    proc.interrupt(10.0)
    if variant == 'robolearn':
        result['stalls'] = int(status.get('stalls', -1))
        result['node_period_err_ms'] = {k: status.get(f'period_err_ms_{k}') for k in ('p50', 'p99', 'max')}
        result['delay_estimate_s'] = float(status.get('delay_estimate_s', 'nan'))
        # what the switches added beyond the replaced plan's and the new chunk's own step (the executor's count)
        result['max_switch_added_rad'] = float(status.get('max_switch_added_rad', 'nan'))
    else:
        last = [line for line in proc.output().splitlines() if line.startswith('{')]
        result['stalls'] = json.loads(last[-1])['stalls'] if last else None
    policy = watch.status.get('policy_node', {})
    result['inference_latency_ms'] = {k: policy.get(f'latency_ms_{k}') for k in ('p50', 'p99')}
    print(f'{variant} {params}: {json.dumps(result)}', file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', type=Path, required=True, help='a trained checkpoint (flow or diffusion for rtc)')
    parser.add_argument('--seconds', type=float, default=20.0, help='seconds each executor drives the arm (default 20)')
    parser.add_argument('--aggregation', choices=MODES, default='blend', help='merge mode for the comparison (default blend)')
    parser.add_argument('--threshold', type=float, default=0.5, help='g for the comparison (default 0.5)')
    parser.add_argument('--realtime-priority', type=int, default=0, help='SCHED_FIFO priority of the executors (0: none)')
    parser.add_argument('--sweep', action='store_true', help='robolearn only: every mode x g in {0.2,0.5,0.8} x delay '
                        'in {0,0.1,0.2} s')
    parser.add_argument('--table', type=Path, help='with --sweep: write the table (markdown) here')
    args = parser.parse_args(argv)
    from robolearn_core.policies.deployment import read_deployment

    fps = read_deployment(args.checkpoint).fps
    calibration = bus_paths()['so100_follower']['calibration_file']
    cameras = {'source': 'sim'}
    base = {'world_node': {'seed': 5000, 'expert': False}, 'front_camera': cameras, 'wrist_camera': cameras,
            'policy_node': {'checkpoint': str(args.checkpoint), 'calibration_file': calibration, 'device': 'cpu'}}
    nodes = tuple(n for n in graph_nodes(policy=True, record=False) if n[1] != 'executor_node')
    rclpy.init()
    report: dict = {'checkpoint': str(args.checkpoint), 'seconds': args.seconds}
    try:
        delays = (0.0, 0.1, 0.2) if args.sweep else (0.0,)
        rows = []
        for delay in delays:
            overrides = {**base, 'policy_node': {**base['policy_node'], 'extra_delay_s': delay}}
            with SimGraph(overrides, nodes=nodes) as graph:
                watch = Watch()
                watch.spin(120, until=lambda w=watch: w.status.get('policy_node', {}).get('state') == 'ready')
                if not args.sweep:
                    common = {'aggregation': args.aggregation, 'threshold': args.threshold,
                              'realtime_priority': args.realtime_priority}
                    for variant in ('robolearn', 'sleep_dt', 'pop_per_tick'):
                        params = common if variant == 'robolearn' else {
                            k: v for k, v in common.items() if k != 'realtime_priority'}
                        report[variant] = run_executor(graph, watch, variant, params, args.seconds, fps)
                else:
                    for mode, g in itertools.product(MODES, (0.2, 0.5, 0.8)):
                        params = {'aggregation': mode, 'threshold': g, 'realtime_priority': args.realtime_priority}
                        rows.append({'aggregation': mode, 'threshold': g, 'delay_s': delay,
                                     **run_executor(graph, watch, 'robolearn', params, args.seconds, fps)})
                watch.node.destroy_node()
        if args.sweep:
            report['sweep'] = rows
            if args.table:
                args.table.write_text(markdown_table(rows, TABLE_COLUMNS))
    finally:
        rclpy.try_shutdown()
    if not args.sweep:
        report |= {k: v for k, v in report['robolearn'].items()}
    print(json.dumps(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
