"""evaluate: run episodes closed-loop in the simulated world through the ROS node graph and report success.

    evaluate --checkpoint runs/act/checkpoints/best --episodes 50 --seed 5000 --json
    evaluate --checkpoint DIR --aggregation rtc --threshold 0.5 --extra-delay 0.1
    evaluate --expert --episodes 100 --seed 5000 --json
    evaluate --expert --episodes 50 --seed 0 --record DIR        (demonstrations: failed ones are re-recorded)

The joints reach MuJoCo only through the real follower so100_driver and its simulated Feetech bus; the
world is seen only through the two camera nodes (96x128 by default) and the driver's joint states.
With ``--checkpoint`` the policy_node and the executor_node (config/policy.yaml) drive the follower, as
policy.launch.py starts them; an episode ends when the world reports success, or fails after
``--max-episode-s`` simulated seconds. With ``--expert`` the scripted expert moves the simulated leader
arm and teleop_node copies it to the follower; an episode fails when the expert is done and the cube is
not placed. Seeds: evaluation 5000..9999 (a checkpoint is only ever evaluated there), training 0..4999.

Reported: ``success_rate``, ``episodes``, ``mean_time_to_success_s``, ``motion`` (the executor's largest jump
at a chunk switch against its largest step between switches, RMS jerk, time held, stalls), ``error_lines``
(per node, ERROR lines it logged) and ``per_episode``. ``real_time_factor`` is simulated over wall time from
the world's own clocks; the world steps to the wall clock, and ``sim_time_lost_s`` is the wall time it fell
too far behind to simulate (0: it kept real time throughout, so what the policy saw did not depend on the
machine's load).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException

from robolearn_core.control.action_queue import MODES
from robolearn_eval.episodes import EpisodePlan, EpisodeRunner, EpisodeWatcher, summarize, write_table
from robolearn_eval.sim_graph import SimGraph, bus_paths, graph_nodes
from robolearn_sim.episode_layout import seed_split

EXPERT_PATH = ('expert -> leader sim bus -> so100_leader -> /leader/joint_states -> teleop_node -> '
               '/follower/joint_commands -> so100_follower -> follower sim bus -> MuJoCo')
POLICY_PATH = ('cameras + /follower/joint_states -> policy_node -> /policy/action_chunk -> executor_node (50 Hz) -> '
               '/follower/joint_commands -> so100_follower -> follower sim bus -> MuJoCo')


def run_evaluation(args: argparse.Namespace) -> dict:
    """Start the graph, run the episodes, stop the graph; the report."""
    policy = args.checkpoint is not None
    calibration = bus_paths()['so100_follower']['calibration_file']
    cameras = {'source': 'sim', 'width': args.width, 'height': args.height}
    overrides = {'world_node': {'seed': args.seed, 'expert': not policy, 'expert_fumbles': args.expert_fumbles},
                 'front_camera': dict(cameras), 'wrist_camera': dict(cameras)}
    if policy:
        overrides['policy_node'] = {'checkpoint': str(args.checkpoint), 'calibration_file': calibration,
                                    'device': args.device, 'extra_delay_s': args.extra_delay, 'seed': args.seed,
                                    **({'inference_noise': args.inference_noise} if args.inference_noise else {})}
        overrides['executor_node'] = {'calibration_file': calibration,
                                      **({'aggregation': args.aggregation} if args.aggregation else {}),
                                      **({'threshold': args.threshold} if args.threshold else {})}
    if args.record is not None:
        overrides['recorder'] = {'root': str(args.record), 'task': args.task, 'calibration_file': calibration,
                                 'video_codec': args.video_codec,
                                 'action_topic': '/follower/joint_commands' if policy else '/leader/joint_states'}
    plan = EpisodePlan(args.seed, args.episodes, policy, max_sim_s=args.max_episode_s, wall_timeout_s=args.episode_timeout,
                       record=args.record is not None, progress=not args.no_progress)
    if args.record is not None and not policy:  # demonstrations: only clean successful ones are saved
        redone_kept = args.keep_regrasped or args.expert_fumbles > 0  # recoveries on purpose: the regrasp is the point
        plan.keep = lambda result: result['success'] and (redone_kept or not result['retries'])
        plan.max_seeds = 2 * args.episodes + 10
    rclpy.init()
    try:
        with SimGraph(overrides, nodes=graph_nodes(policy, args.record is not None), log_dir=args.log_dir) as graph:
            node = EpisodeWatcher()
            runner = EpisodeRunner(graph, node)
            cpu_start, run_start = graph.cpu_seconds(), time.monotonic()
            runner.run(plan)
            run_wall = time.monotonic() - run_start
            cpu = {k: (v - cpu_start.get(k, 0.0)) / run_wall for k, v in graph.cpu_seconds().items()}
            errors = {p.label: n for p in graph.graph.processes if (n := p.output().count('[ERROR]'))}
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
    if plan.record and not policy and sum(r.get('recorded', False) for r in plan.results) < args.episodes:
        raise RuntimeError(f'only {sum(r["recorded"] for r in plan.results)} of {args.episodes} demonstrations '
                           f'succeeded in {len(plan.results)} seeds: the expert fails too often on this machine')
    extra = {
        'policy': 'scripted expert' if not policy else str(args.checkpoint),
        'joint_path': POLICY_PATH if policy else EXPERT_PATH,
        'camera_size': f'{args.height}x{args.width}',
        'recorded_to': str(args.record) if args.record is not None else None,
        'error_lines': errors,  # per node, ERROR lines in its log during the run (none: {})
    }
    if policy:
        extra |= {'aggregation': args.aggregation or 'config/policy.yaml', 'threshold': args.threshold or 'config/policy.yaml',
                  'extra_delay_s': args.extra_delay, 'device': args.device, 'max_episode_s': args.max_episode_s,
                  'inference_noise': args.inference_noise or 'config/policy.yaml'}
    return summarize(plan.results, plan, cpu, extra)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='evaluate', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument('--checkpoint', metavar='DIR', help='a policy checkpoint (fit: <output>/checkpoints/best); several of one '
                     'recipe, comma-separated, deploy as one (their chunks averaged: ACT, mlp; flow and diffusion with '
                     '--inference-noise zero)')
    who.add_argument('--expert', action='store_true', help='the scripted expert instead of a policy')
    parser.add_argument('--episodes', type=int, default=10, help='number of episodes, seeds SEED..SEED+N-1 (default 10)')
    parser.add_argument('--seed', type=int, default=5000, help='first seed (evaluation seeds 5000..9999; default 5000)')
    parser.add_argument('--aggregation', choices=MODES, help='executor merge mode (default: config/policy.yaml)')
    parser.add_argument('--threshold', type=float, help='executor g: request when remaining / horizon < g (default: YAML)')
    parser.add_argument('--device', default='auto', help='policy_node torch device (auto: cuda if there is one)')
    parser.add_argument('--extra-delay', type=float, default=0.0, metavar='S', help='seconds added to every inference')
    parser.add_argument('--inference-noise', metavar='MODE', help='flow, diffusion: where sampling starts: fresh, '
                        'episode or zero (policy_node inference_noise; default: as the checkpoint says, fresh)')
    parser.add_argument('--max-episode-s', type=float, default=30.0, help='simulated seconds a policy gets (default 30)')
    parser.add_argument('--width', type=int, default=128, help='camera width in pixels, 128..640 (default 128)')
    parser.add_argument('--height', type=int, default=96, help='camera height in pixels, 96..480 (default 96)')
    parser.add_argument('--episode-timeout', type=float, default=120.0, help='wall seconds before an episode counts as stuck')
    parser.add_argument('--record', type=Path, metavar='DIR', help='also record the episodes into a LeRobot v3.0 dataset at '
                        'DIR (created or resumed); with --expert only successful ones are kept, and failed seeds are '
                        'replaced by the next ones (demonstrations: use training seeds, 0..4999)')
    parser.add_argument('--keep-regrasped', action='store_true',
                        help='with --expert --record: also keep episodes in which the expert lost the cube and grasped it '
                        'again (default: re-record them, as a careful operator would: a policy can learn the letting go; '
                        'kept anyway with --expert-fumbles)')
    parser.add_argument('--expert-fumbles', type=float, default=0.0, metavar='P',
                        help='with --expert: share of episodes whose first grasp the expert fumbles on purpose and makes '
                        'again, so that recorded demonstrations show recoveries (0..1, default 0; docs/closed-loop.md)')
    parser.add_argument('--task', default='put the cube on the target', help='task string of recorded episodes')
    parser.add_argument('--video-codec', choices=['av1', 'h264'], default='av1', help='recorded video codec (default av1)')
    parser.add_argument('--table', type=Path, metavar='FILE', help='also write the per-episode outcomes as a markdown table')
    parser.add_argument('--log-dir', type=Path, metavar='DIR', help="keep every node's output in DIR (default: a temporary "
                        'folder, removed after a clean run and named after a failed one)')
    parser.add_argument('--json', action='store_true', help='print one JSON object as the last line')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error('--episodes must be >= 1')
    last = args.seed + args.episodes - 1
    try:
        split = seed_split(args.seed)
        seed_split(last)
    except ValueError as e:
        parser.error(str(e))
    if split != seed_split(last):
        parser.error(f'seeds {args.seed}..{last} straddle the training and evaluation ranges')
    if args.checkpoint is not None and split != 'eval':
        parser.error(f'a checkpoint is evaluated on held-out seeds only (5000..9999), not {args.seed}..{last}')
    if args.inference_noise is not None:
        from robolearn_core.policies.common.chunk_generator import INFERENCE_NOISE  # torch: only when asked for
        if args.inference_noise not in INFERENCE_NOISE or args.checkpoint is None:
            parser.error(f'--inference-noise {args.inference_noise}: one of {", ".join(INFERENCE_NOISE)}, with --checkpoint')
    # the nodes run in the graph's own working folder: a relative path would be read (or written) there
    if args.checkpoint is not None:
        paths = [Path(p.strip()).expanduser() for p in args.checkpoint.split(',')]
        for path in paths:
            if not (path / 'config.json').is_file():
                parser.error(f'{path} is not a policy checkpoint (no config.json): give fit\'s <output>/checkpoints/best')
        args.checkpoint = ','.join(str(p.resolve()) for p in paths)
    if args.record is not None:
        args.record = args.record.expanduser().resolve()
    if not (96 <= args.height <= 480 and 128 <= args.width <= 640):
        parser.error(f'camera size {args.height}x{args.width} is outside 96x128..480x640')
    if args.threshold is not None and not 0 < args.threshold <= 1:
        parser.error(f'--threshold {args.threshold} is outside (0, 1]')
    if args.extra_delay < 0 or args.max_episode_s <= 0:
        parser.error('--extra-delay must be >= 0 and --max-episode-s > 0')
    if not 0 <= args.expert_fumbles <= 1 or (args.expert_fumbles and args.checkpoint is not None):
        parser.error(f'--expert-fumbles {args.expert_fumbles}: a share 0..1, and only with --expert')
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    print(f'evaluate: joint path: {POLICY_PATH if args.checkpoint else EXPERT_PATH}', file=sys.stderr)
    try:
        report = run_evaluation(args)
    except (KeyboardInterrupt, ExternalShutdownException):
        print('evaluate: interrupted; the simulated graph was stopped', file=sys.stderr)
        sys.exit(130)
    except (TimeoutError, RuntimeError) as e:
        print(f'evaluate: {e}', file=sys.stderr)
        sys.exit(1)
    if args.table:
        write_table(report, args.table)
    time_to_success = report['mean_time_to_success_s']
    print(f"success rate {report['success_rate']:.3f} over {report['episodes']} episodes from seed {args.seed}; "
          + (f'mean time to success {time_to_success:.1f} s; ' if time_to_success is not None else '')
          + f"real-time factor {report['real_time_factor']:.3f}, sim time lost {report['sim_time_lost_s']:.2f} s; "
          f"{report['seconds_per_episode']:.1f} s per episode")
    if 'motion' in report:
        m = report['motion']
        print(f"motion: max switch jump {m['max_switch_jump_rad']} rad, of it added by a switch {m['max_switch_added_rad']} rad "
              f"(max step between switches {m['max_step_rad']} rad), "
              f"RMS jerk {m['rms_jerk_mean']}, held {m['held_fraction_mean']}, stalls {m['stalls']}, "
              f"rejected chunks {m['rejected_chunks']}")
        if m['episodes_without_a_chunk']:
            print(f"evaluate: in {m['episodes_without_a_chunk']} episode(s) no chunk reached the executor (the arm held "
                  'throughout): its log says why (--log-dir DIR keeps it)', file=sys.stderr)
    if args.json:
        print(json.dumps(report))


if __name__ == '__main__':
    main()
