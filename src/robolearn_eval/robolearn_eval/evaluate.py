"""evaluate: run episodes closed-loop in the simulated world through the ROS node graph and report success.

    evaluate --expert --episodes 100 --seed 5000 --json

With ``--expert`` the scripted expert moves the simulated leader arm; its joints go through the leader's
simulated Feetech bus and the leader so100_driver to /leader/joint_states, the teleop node turns them
into the follower's commands at 50 Hz, the follower so100_driver writes them to the follower's simulated
bus, whose goals move the world's MuJoCo arm; two camera nodes render the world (96x128 by default).
Each episode ends when the world reports success, or fails when the expert is done and the cube is not
placed. Seeds: evaluation 5000..9999, training 0..4999.
``real_time_factor`` is simulated over wall time, both read from the world's clocks at the end of each
episode and summed (the world steps to the wall clock, so it reads 1 less the part of a tick it trails
by); ``sim_time_lost_s`` is the wall time the world fell too far behind to simulate (0: it kept real
time throughout); ``seconds_per_episode`` is the wall time evaluate saw per episode.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tqdm import tqdm

from robolearn_eval.sim_graph import SIM_NODES, SimGraph, bus_paths
from robolearn_sim.episode_layout import seed_split

#: Simulated seconds after the expert is done that the cube gets to come to rest on the target.
SETTLE_S = 1.5
JOINT_PATH = (
    'drivers: expert -> leader sim bus -> so100_leader -> /leader/joint_states -> teleop_node -> '
    '/follower/joint_commands -> so100_follower -> follower sim bus -> MuJoCo'
)


class EpisodeWatcher(Node):
    """Listens to /sim/episode and the camera images, and calls the world's reset service."""

    def __init__(self) -> None:
        super().__init__('evaluate')
        self.episode: dict | None = None
        self.frames = collections.Counter()
        self.create_subscription(String, '/sim/episode', self._on_episode, 10)
        for camera in ('front', 'wrist'):
            self.create_subscription(
                Image, f'/cameras/{camera}/image_raw', lambda _msg, c=camera: self.frames.update([c]), qos_profile_sensor_data
            )
        self.reset_client = self.create_client(Trigger, '/world_node/reset')
        self.recorder = {name: self.create_client(Trigger, f'/recorder/{name}') for name in ('start_episode', 'save_episode')}

    def _on_episode(self, msg: String) -> None:
        self.episode = json.loads(msg.data)


def _spin_until(node: Node, predicate, timeout: float, what: str, graph: SimGraph) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f'timed out after {timeout:.0f} s waiting for {what}')
        if graph.crashed():
            raise RuntimeError('a node of the simulated graph died: ' + '\n'.join(graph.crashed()))
        rclpy.spin_once(node, timeout_sec=0.05)


def _recorder_call(node: EpisodeWatcher, graph: SimGraph, service: str, timeout: float = 60.0) -> str:
    """Call a recorder service; start_episode is retried while the recorder waits for its streams."""
    client, deadline = node.recorder[service], time.monotonic() + timeout
    _spin_until(node, client.service_is_ready, timeout, f'the recorder service {service}', graph)
    while True:
        future = client.call_async(Trigger.Request())
        _spin_until(node, future.done, 30.0, f'the recorder to answer {service}', graph)
        if future.result().success:
            return future.result().message
        if 'cannot start' not in future.result().message or time.monotonic() > deadline:
            raise RuntimeError(f'recorder {service} failed: {future.result().message}')
        rclpy.spin_once(node, timeout_sec=0.5)


def run_expert_evaluation(
    episodes: int,
    seed: int,
    width: int,
    height: int,
    episode_timeout: float,
    progress: bool,
    record: Path | None = None,
    task: str = '',
) -> dict:
    """Run the expert for ``episodes`` seeds through the simulated graph; with ``record``, each episode is also
    recorded by recorder_node (teleop_record.launch.py's recorder) into a LeRobot v3.0 dataset there."""
    cameras = {'source': 'sim', 'width': width, 'height': height}
    overrides = {'world_node': {'seed': seed, 'expert': True}, 'front_camera': dict(cameras), 'wrist_camera': dict(cameras)}
    nodes = SIM_NODES
    if record is not None:
        nodes = (*SIM_NODES, ('robolearn_teleop', 'recorder_node', 'recorder', 'recorder.yaml'))
        overrides['recorder'] = {
            'root': str(record),
            'task': task,
            'calibration_file': bus_paths()['so100_follower']['calibration_file'],
        }
    results = []
    rclpy.init()
    try:
        with SimGraph(overrides, nodes=nodes) as graph:
            node = EpisodeWatcher()
            _spin_until(
                node, lambda: node.episode is not None and node.episode['seed'] == seed, 90.0, 'the world to start', graph
            )
            _spin_until(node, lambda: sum(node.frames.values()) > 0, 60.0, 'the first camera frame', graph)
            cpu_start, run_start = graph.cpu_seconds(), time.monotonic()
            for i in tqdm(range(episodes), desc='episodes', unit='ep', disable=not progress, file=sys.stderr):
                want = seed + i
                if i > 0:
                    _spin_until(node, lambda: node.reset_client.service_is_ready(), 30.0, 'the reset service', graph)
                    future = node.reset_client.call_async(Trigger.Request())
                    _spin_until(node, future.done, 30.0, 'the reset service to answer', graph)
                    if not future.result().success:
                        raise RuntimeError(f'reset to seed {want} failed: {future.result().message}')
                    _spin_until(
                        node,
                        lambda want=want: node.episode['seed'] == want and node.episode['sim_time'] < 0.5,
                        30.0,
                        f'episode {want} to start',
                        graph,
                    )
                if record is not None:
                    _recorder_call(node, graph, 'start_episode')
                wall_start, frames_start = time.monotonic(), sum(node.frames.values())
                sim_start = node.episode['sim_time']
                expert_done_at = None

                def finished() -> bool:
                    nonlocal expert_done_at
                    e = node.episode
                    if e['success']:
                        return True
                    if e['expert_done'] and expert_done_at is None:
                        expert_done_at = e['sim_time']
                    return expert_done_at is not None and e['sim_time'] - expert_done_at > SETTLE_S

                _spin_until(node, finished, episode_timeout, f'episode {want} to end', graph)
                wall = time.monotonic() - wall_start
                if record is not None:
                    _recorder_call(node, graph, 'save_episode')
                e = node.episode
                results.append(
                    {
                        'seed': want,
                        'strategy': e['strategy'],
                        'success': bool(e['success']),
                        'sim_s': e['sim_time'] - sim_start,
                        'wall_s': wall,
                        # The world's own clocks, read at one instant: simulated time and wall time since reset.
                        'lost_s': e['lost_s'],
                        'world_sim_s': e['sim_time'],
                        'world_wall_s': e['sim_time'] / max(e['real_time_factor'], 1e-9),
                        'camera_fps': (sum(node.frames.values()) - frames_start) / wall / 2,
                    }
                )
            run_wall = time.monotonic() - run_start
            cpu = {k: (v - cpu_start.get(k, 0.0)) / run_wall for k, v in graph.cpu_seconds().items()}
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
    n = len(results)
    sim, wall = sum(r['sim_s'] for r in results), sum(r['wall_s'] for r in results)
    world_sim, world_wall = sum(r['world_sim_s'] for r in results), sum(r['world_wall_s'] for r in results)
    strategies = collections.Counter(r['strategy'] for r in results)
    return {
        'success_rate': sum(r['success'] for r in results) / n,
        'episodes': n,
        'first_seed': seed,
        'real_time_factor': world_sim / world_wall,
        'sim_time_lost_s': sum(r['lost_s'] for r in results),
        'seconds_per_episode': wall / n,
        'sim_seconds_per_episode': sim / n,
        'strategy_share': {k: v / n for k, v in sorted(strategies.items())},
        'camera_fps_mean': sum(r['camera_fps'] for r in results) / n,
        'camera_size': f'{height}x{width}',
        'cpu_cores_by_node': {k: round(v, 3) for k, v in cpu.items()},
        'failed_seeds': [r['seed'] for r in results if not r['success']],
        'policy': 'scripted expert',
        'joint_path': JOINT_PATH,
        'recorded_to': str(record) if record is not None else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='evaluate', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--expert', action='store_true', help='run the scripted expert (the only mode so far)')
    parser.add_argument('--episodes', type=int, default=10, help='number of episodes, seeds SEED..SEED+N-1 (default 10)')
    parser.add_argument('--seed', type=int, default=5000, help='first seed (evaluation seeds 5000..9999; default 5000)')
    parser.add_argument('--width', type=int, default=128, help='camera width in pixels, 128..640 (default 128)')
    parser.add_argument('--height', type=int, default=96, help='camera height in pixels, 96..480 (default 96)')
    parser.add_argument('--episode-timeout', type=float, default=60.0, help='wall seconds before an episode counts as stuck')
    parser.add_argument('--json', action='store_true', help='print one JSON object as the last line')
    parser.add_argument(
        '--record',
        type=Path,
        metavar='DIR',
        help='also record every episode into a LeRobot v3.0 dataset at DIR (created or resumed); use '
        'training seeds (0..4999) for demonstrations',
    )
    parser.add_argument('--task', default='put the cube on the target', help='task string of recorded episodes')
    args = parser.parse_args(argv)
    if not args.expert:
        parser.error('only --expert is implemented so far (evaluating a checkpoint comes with the policy node)')
    if args.episodes < 1:
        parser.error('--episodes must be >= 1')
    try:
        seed_split(args.seed)
        seed_split(args.seed + args.episodes - 1)
    except ValueError as e:
        parser.error(str(e))
    if seed_split(args.seed) != seed_split(args.seed + args.episodes - 1):
        parser.error(f'seeds {args.seed}..{args.seed + args.episodes - 1} straddle the training and evaluation ranges')
    if not (96 <= args.height <= 480 and 128 <= args.width <= 640):
        parser.error(f'camera size {args.height}x{args.width} is outside 96x128..480x640')
    print(f'evaluate: joint path: {JOINT_PATH}', file=sys.stderr)
    try:
        report = run_expert_evaluation(
            args.episodes,
            args.seed,
            args.width,
            args.height,
            args.episode_timeout,
            progress=True,
            record=args.record,
            task=args.task,
        )
    except (KeyboardInterrupt, ExternalShutdownException):
        print('evaluate: interrupted; the simulated graph was stopped', file=sys.stderr)
        sys.exit(130)
    except (TimeoutError, RuntimeError) as e:
        print(f'evaluate: {e}', file=sys.stderr)
        sys.exit(1)
    print(
        f"success rate {report['success_rate']:.3f} over {report['episodes']} episodes from seed {args.seed}; "
        f"real-time factor {report['real_time_factor']:.3f}; {report['seconds_per_episode']:.1f} s per episode"
    )
    if args.json:
        print(json.dumps(report))


if __name__ == '__main__':
    main()
