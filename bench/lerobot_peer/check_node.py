#!/usr/bin/env python3
"""The real policy_node, with backend LeRobotPeerPolicy, over real DDS: a LeRobot checkpoint answers a request.

    scripts/with-env python bench/lerobot_peer/check_node.py --checkpoint DIR --dataset DS

Starts the installed policy_node as evaluate does (config/policy.yaml + overrides; its own ROS domain, localhost
discovery, via tests/harness/ros_graph.py) with ``backend`` = bench/lerobot_peer/backend.py:LeRobotPeerPolicy.
If the workspace's policy_node has no ``backend`` parameter yet, policy_node_backend.patch is applied to a
temporary copy of the robolearn_policy package, which is put first on the node's PYTHONPATH (src/ untouched).
This process plays the arm: /follower/joint_states (a dataset frame's state, in radians through the
calibration) and both cameras (that frame's images), and asks for chunks on /policy/request. Checks the
JointTrajectory chunks (SO joint names, LeRobot's chunk_size points at i / fps, radians) and, after SIGINT,
that the node and the LeRobot chunk server it started are gone. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(HERE)]
from backend import DEPLOYMENT_FILE  # noqa: E402

from robolearn_core.calibration import ArmCalibration  # noqa: E402
from robolearn_core.dataset.reader import DatasetReader  # noqa: E402
from robolearn_core.feetech.sim_bus import matching_calibration  # noqa: E402
from robolearn_core.so_arm.frame_schema import FrameSchema  # noqa: E402
from robolearn_core.so_arm.joints import JOINT_NAMES  # noqa: E402
from robolearn_ros.image_conversion import array_to_image  # noqa: E402
from robolearn_ros.trajectories import msg_fields  # noqa: E402
from tests.harness.ros_graph import DomainLease, RosGraph  # noqa: E402


def patched_package(tmp: Path) -> Path | None:
    """A copy of robolearn_policy with the backend patch, or None when the workspace already has it."""
    src = REPO / 'src' / 'robolearn_policy'
    if "'backend'" in (src / 'robolearn_policy' / 'policy_node.py').read_text():
        return None
    shutil.copytree(src, tmp / 'src' / 'robolearn_policy')
    text = (HERE / 'policy_node_backend.patch').read_text()
    node_part = next(part for part in text.split('diff -ruN ') if part and 'policy_node.py' in part.splitlines()[0])
    (tmp / 'node.patch').write_text('diff -ruN ' + node_part)
    subprocess.run(['patch', '-s', '-p1', '-d', str(tmp), '-i', str(tmp / 'node.patch')], check=True)
    return tmp / 'src' / 'robolearn_policy'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='LeRobot pretrained_model directory')
    parser.add_argument('--dataset', required=True)
    parser.add_argument('--chunks', type=int, default=3, help='requests to answer')
    parser.add_argument('--calibration', default=None, help='follower calibration JSON (default: the simulated arm)')
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix='lerobot-peer-node-'))
    cal_path = Path(args.calibration) if args.calibration else tmp / 'follower.json'
    if not args.calibration:
        matching_calibration().save(cal_path)
    calibration = ArmCalibration.load(cal_path)
    dep = json.loads((Path(args.checkpoint) / DEPLOYMENT_FILE).read_text())
    cams = [k.split('.')[-1] for k in dep['cameras']]
    schema = FrameSchema(tuple(cams), calibration, calibration)
    episode = (dep.get('holdout_episodes') or [0])[0]
    reader = DatasetReader(args.dataset, episodes=[episode])
    t = len(reader) // 3
    state_rad = schema.actions_to_radians(reader[t]['observation.state'][None])[0]
    images = {c: reader.episode_frames_uint8(f'observation.images.{c}', 0, np.array([t]))[0] for c in cams}

    package = patched_package(tmp)
    env = {'PYTHONPATH': os.pathsep.join([str(package), os.environ.get('PYTHONPATH', '')])} if package else {}
    lease = DomainLease()
    graph = RosGraph(lease.domain_id, tmp, stop_timeout=8.0)
    result: dict = {'patched_copy': package is not None, 'domain': lease.domain_id}
    try:
        node = graph.start('robolearn_policy', 'policy_node', name='policy_node', params_file='config/policy.yaml',
                           params={'checkpoint': str(Path(args.checkpoint).resolve()), 'calibration_file': str(cal_path),
                                   'device': 'cpu', 'warmup_calls': 1,
                                   'backend': f'{HERE / "backend.py"}:LeRobotPeerPolicy'}, env=env)
        chunks = graph.subscribe('/policy/action_chunk', JointTrajectory)
        state_pub = graph.publisher('/follower/joint_states', JointState)
        image_pubs = {c: graph.publisher(f'/cameras/{c}/image_raw', Image) for c in cams}
        request_pub = graph.publisher('/policy/request', JointTrajectory)
        ready = node.wait_for_output(r'policy ready: .*', timeout=180.0)
        result['ready_line'] = ready.group(0)[:300]
        t0, k, sent = time.monotonic(), 0, 0
        while len(chunks) < args.chunks and time.monotonic() - t0 < 60:
            state_pub.publish(JointState(name=list(JOINT_NAMES), position=state_rad.tolist()))
            if k % 2 == 0:
                for c, pub in image_pubs.items():
                    pub.publish(array_to_image(images[c], 'rgb8'))
            if k % 25 == 10 and sent <= len(chunks):  # one request in flight at a time, as the executor asks
                request_pub.publish(JointTrajectory())
                sent += 1
            k += 1
            graph.spin_for(0.02)
        msg = chunks[0]
        names, positions, times, stamp = msg_fields(msg)
        positions = np.asarray(positions)
        back = schema.radians_to_actions(positions)
        result |= {
            'chunks': len(chunks), 'seconds': round(time.monotonic() - t0, 1), 'joint_names': list(names),
            'points': len(positions), 'dt': round(float(np.diff(times).mean()), 5), 'fps': dep['fps'],
            'radians_min': round(float(positions.min()), 3), 'radians_max': round(float(positions.max()), 3),
            'first_row_dataset_units': np.round(back[0], 2).tolist(),
            'observed_state_dataset_units': np.round(reader[t]['observation.state'], 2).tolist(),
        }
        graph.stop(node)
        server_left = subprocess.run(['pgrep', '-f', f'server.py --checkpoint {Path(args.checkpoint).resolve()}'],
                                     capture_output=True, text=True).stdout.split()
        result['server_processes_left'] = len(server_left)
    finally:
        problems = graph.close()
        lease.release()
        result['problems'] = problems
        if problems or 'chunks' not in result:
            sys.stdout.write(graph.describe()[-6000:] + '\n')
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0 if not result['problems'] and result.get('chunks', 0) >= args.chunks else 1


if __name__ == '__main__':
    sys.exit(main())
