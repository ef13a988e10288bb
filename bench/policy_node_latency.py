#!/usr/bin/env python3
"""policy_node alone over real DDS: observation-to-chunk latency on this machine's CPU or GPU.

Why beside bench/inference.py (the policy's compute without DDS) and bench/executor.py (the whole simulated
graph on this CPU): a GPU machine without the simulator still has a policy node to measure, and what the arm
waits for is the time from the observation's stamp to the chunk's arrival, DDS included. This process plays
the arm and the cameras (joint states at 50 Hz, every camera the checkpoint was trained on at 30 Hz, at its
training size) and the executor: a request every ``--request-every`` seconds carrying the not-yet-executed
setpoints of the last chunk, as the executor does (flow and diffusion then infer guided, as with ``rtc``).
The node runs as its own process with config/policy.yaml and the options given.

Measured per chunk, on one clock (one machine): ``arrival - header.stamp`` (the observation's time: the node
stamps a chunk with the observation it was computed from); and the node's own figures from /diagnostics.

    scripts/with-env python bench/policy_node_latency.py --checkpoint DIR --calibration FILE --seconds 30
    python3 bench/policy_node_latency.py --checkpoint DIR --calibration FILE --device cuda --dtype bfloat16 --cuda-graph

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from robolearn_core.control.chunk import Chunk  # noqa: E402
from robolearn_core.policies.deployed_policy import CAMERA_PREFIX  # noqa: E402
from robolearn_core.policies.deployment import read_deployment  # noqa: E402
from robolearn_core.so_arm.joints import JOINT_NAMES  # noqa: E402
from robolearn_ros.image_conversion import array_to_image  # noqa: E402
from robolearn_ros.process_graph import ProcessGraph  # noqa: E402
from robolearn_ros.trajectories import chunk_to_msg, msg_fields, to_stamp  # noqa: E402

NODE = [sys.executable, '-c', 'import sys; from robolearn_policy.policy_node import main; main(sys.argv)']


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='a fit checkpoint (checkpoints/best)')
    parser.add_argument('--calibration', required=True, help="the follower's calibration JSON")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32', choices=('float32', 'bfloat16'))
    parser.add_argument('--cuda-graph', action='store_true')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seconds', type=float, default=30.0, help='measured time, after the node is ready')
    parser.add_argument('--request-every', type=float, default=0.33,
                        help='seconds between requests (ACT, chunk 50 at 30 fps, g 0.8: 0.33)')
    args = parser.parse_args()

    cameras = {k[len(CAMERA_PREFIX):]: hw for k, hw in read_deployment(args.checkpoint).cameras.items()}
    rclpy.init()
    node = rclpy.create_node('bench_policy_node_latency')
    state_pub = node.create_publisher(JointState, '/follower/joint_states', 10)
    image_pubs = {c: node.create_publisher(Image, f'/cameras/{c}/image_raw', 5) for c in cameras}
    request_pub = node.create_publisher(JointTrajectory, '/policy/request', 10)
    arrivals: list[tuple[float, float, Chunk]] = []   # (arrival, stamp, chunk)
    status: dict[str, str] = {}
    now = lambda: node.get_clock().now().nanoseconds * 1e-9  # noqa: E731

    def on_chunk(msg: JointTrajectory) -> None:
        _, positions, times, stamp = msg_fields(msg)
        arrivals.append((now(), stamp, Chunk(stamp, np.array(times), np.array(positions))))

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for s in msg.status:
            if s.name.endswith('policy'):
                status.update({v.key: v.value for v in s.values})

    node.create_subscription(JointTrajectory, '/policy/action_chunk', on_chunk, 10)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    rng = np.random.default_rng(0)
    frames = {c: rng.integers(0, 255, (8, h, w, 3), dtype=np.uint8) for c, (h, w) in cameras.items()}
    pose = np.array([0.0, -0.3, 0.4, 1.2, 1.5, 0.5])

    def play(seconds: float, request_every: float | None = None) -> None:
        """The arm at 50 Hz, the cameras at 30 Hz, a request every ``request_every`` s."""
        start = time.monotonic()
        k, next_request = 0, start
        while time.monotonic() - start < seconds:
            t = start + k * 0.02
            state_pub.publish(JointState(name=list(JOINT_NAMES), position=(pose + 0.02 * np.sin(0.5 * k * 0.02)).tolist()))
            if k == 0 or (k * 3) // 5 != ((k - 1) * 3) // 5:  # 3 of every 5 ticks: 30 Hz
                for c, pub in image_pubs.items():
                    pub.publish(array_to_image(frames[c][k % 8], 'rgb8'))
            if request_every and time.monotonic() >= next_request:
                pending = arrivals[-1][2].after(now()) if arrivals else None  # as the executor: what is still to play
                request = JointTrajectory(joint_names=list(JOINT_NAMES)) if pending is None else \
                    chunk_to_msg(pending, JOINT_NAMES)
                request.header.stamp = to_stamp(now())
                request_pub.publish(request)
                next_request += request_every
            k += 1
            rclpy.spin_once(node, timeout_sec=max(0.0, t + 0.02 - time.monotonic()))

    with tempfile.TemporaryDirectory() as tmp:
        graph = ProcessGraph(Path(tmp))
        policy = None
        try:
            policy = graph.start_command(NODE, label='policy_node', name='policy_node',
                                         params_file=REPO / 'config' / 'policy.yaml',
                                         params={'checkpoint': str(Path(args.checkpoint).resolve()),
                                                 'calibration_file': str(Path(args.calibration).resolve()),
                                                 'device': args.device, 'dtype': args.dtype,
                                                 'cuda_graph': args.cuda_graph, 'threads': args.threads})
            if not policy.wait_for_output('policy ready', timeout=300):
                raise SystemExit(f'policy_node did not get ready:\n{graph.describe()}')
            ready = time.monotonic()
            play(5.0)  # discovery: every publisher matched before the first request counts
            arrivals.clear()
            play(args.seconds, args.request_every)
            play(1.5)  # a last diagnostics message
        finally:
            log = policy.output() if policy is not None else ''
            graph.close()
            node.destroy_node()
            rclpy.try_shutdown()
    latency = np.array([(a - s) * 1000.0 for a, s, _ in arrivals])
    print(log[-1500:], file=sys.stderr)
    if not len(latency):
        print(json.dumps({'benchmark': 'policy_node_latency', 'error': 'no chunk arrived', 'node_status': status}))
        return 1
    print(json.dumps({
        'benchmark': 'policy_node_latency', 'checkpoint': args.checkpoint, 'device': args.device, 'dtype': args.dtype,
        'cuda_graph': args.cuda_graph, 'threads': args.threads, 'chunks': len(latency),
        'requests_per_s': round(1.0 / args.request_every, 2), 'seconds_after_ready': round(time.monotonic() - ready, 1),
        'obs_to_chunk_p50_ms': round(float(np.percentile(latency, 50)), 2),
        'obs_to_chunk_p99_ms': round(float(np.percentile(latency, 99)), 2),
        'obs_to_chunk_max_ms': round(float(latency.max()), 2),
        'chunk_horizon': len(arrivals[-1][2]), 'node_status': status,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
