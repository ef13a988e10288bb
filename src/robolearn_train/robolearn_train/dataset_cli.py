"""`dataset`: inspect, check, plot and convert LeRobot v3.0 datasets.

    dataset info DIR                 what is in a dataset (features, cameras, episodes, tasks, size)
    dataset validate DIR             check it against the format; every problem is named; exit 1 if any
    dataset plot DIR --episode N     joint curves and a contact sheet of camera frames, as PNG
    dataset from-bag BAG OUT ...     a rosbag2 recording -> a LeRobot v3.0 dataset
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from robolearn_core.dataset import layout
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.reader import read_episodes_table, read_tasks
from robolearn_core.dataset.validate import validate


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob('*') if p.is_file())


def cmd_info(args: argparse.Namespace) -> int:
    root = Path(args.dataset)
    info_path = root / layout.INFO_PATH
    if not info_path.is_file():
        print(f'error: {root} has no meta/info.json; give the dataset root folder', file=sys.stderr)
        return 2
    info = layout.read_json(info_path)
    episodes = read_episodes_table(root).sort_by('episode_index')
    rows = episodes.select(['episode_index', 'length', 'tasks']).to_pylist()
    tasks = read_tasks(root)
    summary = {
        'root': str(root),
        'codebase_version': info['codebase_version'],
        'robot_type': info['robot_type'],
        'fps': info['fps'],
        'episodes': info['total_episodes'],
        'frames': info['total_frames'],
        'duration_s': round(info['total_frames'] / info['fps'], 3),
        'tasks': [tasks[i] for i in sorted(tasks)],
        'features': {k: {'dtype': f['dtype'], 'shape': f['shape'], 'names': f.get('names')}
                     for k, f in info['features'].items() if k not in layout.INDEX_FEATURES},
        'cameras': {k: f'{f["info"]["video.width"]}x{f["info"]["video.height"]} {f["info"]["video.codec"]}'
                    for k, f in info['features'].items() if f['dtype'] == 'video'},
        'size_mb': round(_size(root) / 1e6, 3),
    }
    if args.json:
        summary['episode_list'] = rows
        print(json.dumps(summary))
        return 0
    print(f"{root}: LeRobot {summary['codebase_version']}, robot {summary['robot_type']}, {summary['fps']} fps")
    print(f"  {summary['episodes']} episodes, {summary['frames']} frames ({summary['duration_s']} s), "
          f"{summary['size_mb']} MB")
    print('  tasks:')
    for i in sorted(tasks):
        print(f'    {i}: {tasks[i]}')
    print('  features:')
    for k, f in summary['features'].items():
        names = f' {f["names"]}' if f['dtype'] != 'video' and f['names'] else ''
        print(f"    {k}: {f['dtype']} {f['shape']}{names}")
    for k, desc in summary['cameras'].items():
        print(f'    {k}: {desc}')
    if args.episodes:
        print('  episodes:')
        for r in rows:
            print(f"    {r['episode_index']}: {r['length']} frames, {r['tasks']}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    rep = validate(args.dataset)
    for note in rep.notes:
        print(f'note: {note}')
    for problem in rep.problems:
        print(f'problem: {problem}')
    if rep.ok:
        print(f'{args.dataset}: valid LeRobot v3.0 dataset')
        return 0
    print(f'{args.dataset}: {len(rep.problems)} problem(s)')
    return 1


def cmd_plot(args: argparse.Namespace) -> int:
    from robolearn_train.dataset_plot import plot_episode

    for path in plot_episode(Path(args.dataset), args.episode, Path(args.out) if args.out else None, args.frames):
        print(f'wrote {path}')
    return 0


def cmd_from_bag(args: argparse.Namespace) -> int:
    from robolearn_train.dataset_from_bag import convert_bag

    report = convert_bag(args)
    print(json.dumps(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='dataset', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('info', help='summarise a dataset')
    p.add_argument('dataset', help='dataset root (the folder with meta/)')
    p.add_argument('--episodes', action='store_true', help='also list every episode with its length and task')
    p.add_argument('--json', action='store_true', help='print one JSON object instead of text')
    p.set_defaults(func=cmd_info)

    p = sub.add_parser('validate', help='check a directory against LeRobot v3.0; exit 1 and name every problem')
    p.add_argument('dataset', help='dataset root (the folder with meta/)')
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser('plot', help='joint curves and a camera contact sheet of one episode, as PNG files')
    p.add_argument('dataset', help='dataset root (the folder with meta/)')
    p.add_argument('--episode', type=int, required=True, help='episode index to plot')
    p.add_argument('--out', help='output folder (default: <dataset>/plots)')
    p.add_argument('--frames', type=int, default=8, help='frames per camera in the contact sheet (default 8)')
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser('from-bag', help='convert a rosbag2 recording into a LeRobot v3.0 dataset')
    p.add_argument('bag', help='rosbag2 folder (with metadata.yaml)')
    p.add_argument('out', help='dataset root to create (or append to, with the same features)')
    p.add_argument('--fps', type=int, default=30, help='dataset frame rate; streams are sampled on this clock (default 30)')
    p.add_argument('--state-topic', default='/follower/joint_states',
                   help='sensor_msgs/JointState topic for observation.state (default /follower/joint_states)')
    p.add_argument('--action-topic', default='/leader/joint_states',
                   help='sensor_msgs/JointState topic for action (default /leader/joint_states)')
    p.add_argument('--camera', action='append', default=[], metavar='NAME=TOPIC',
                   help='a sensor_msgs/Image topic stored as observation.images.NAME (repeatable)')
    p.add_argument('--task', required=True, help='task string of the episode')
    p.add_argument('--robot-type', default='so101_follower', help='info.json robot_type (default so101_follower)')
    p.add_argument('--max-age', type=float, default=0.1,
                   help='seconds a message may be older than a sample time and still be used (default 0.1)')
    p.add_argument('--units', choices=['so', 'raw'], default='so',
                   help="'so': radians on the topics -> LeRobot SO units (degrees, gripper 0..100); "
                        "'raw': store the positions as they are (default so)")
    p.add_argument('--calibration', help="follower calibration JSON (LeRobot layout); needed by --units so")
    p.add_argument('--action-calibration', help='calibration for the action topic (default: --calibration)')
    p.add_argument('--video-codec', choices=['av1', 'h264'], default='av1', help='video codec (default av1)')
    p.set_defaults(func=cmd_from_bag)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DatasetError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
