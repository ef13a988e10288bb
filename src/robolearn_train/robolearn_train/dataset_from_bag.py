"""`dataset from-bag`: a rosbag2 recording (``ros2 bag record``) -> one episode of a LeRobot v3.0 dataset.

Why: recording with ``ros2 bag`` first keeps every message; converting afterwards applies exactly the
recorder's rule (robolearn_core.recording.stream_sampler: the newest message of every stream at each tick of the
dataset clock, within ``--max-age``) with bag receive times as the clock. Read with the ``rosbags``
library, so no ROS installation is needed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
from tqdm import tqdm

from robolearn_core.calibration import ArmCalibration
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.writer import DatasetWriter
from robolearn_core.recording.stream_sampler import StreamSampler
from robolearn_core.so_arm.frame_schema import FrameSchema
from robolearn_core.so_arm.joints import JointMessageError, positions_by_name
from robolearn_ros.image_conversion import image_to_array


def _joint_positions(msg: Any, topic: str) -> np.ndarray:
    try:
        return positions_by_name(msg.name, msg.position, allow_extra=True)
    except JointMessageError as e:
        raise DatasetError(f'{topic}: {e}') from None


def convert_bag(args: argparse.Namespace) -> dict[str, Any]:
    """Convert; returns a summary (episode, frames, dropped ticks) for the CLI to print."""
    bag = Path(args.bag)
    if not (bag / 'metadata.yaml').is_file():
        raise DatasetError(f'{bag} is not a rosbag2 folder (no metadata.yaml); give the folder `ros2 bag record` wrote')
    cameras = {}
    for spec in args.camera:
        name, sep, topic = spec.partition('=')
        if not sep or not name or not topic:
            raise DatasetError(f'--camera {spec!r}: expected NAME=TOPIC, e.g. front=/cameras/front/image_raw')
        cameras[name] = topic
    if args.units == 'so':
        if not args.calibration:
            raise DatasetError("--units so needs --calibration (the follower's calibration JSON) for the gripper range")
        state_cal = ArmCalibration.load(args.calibration)
        action_cal = ArmCalibration.load(args.action_calibration) if args.action_calibration else state_cal
        schema = FrameSchema(tuple(cameras), state_cal, action_cal)
    else:
        schema = FrameSchema(tuple(cameras))  # radians as they are

    typestore = get_typestore(Stores.ROS2_JAZZY)
    topics = {args.state_topic: 'follower', args.action_topic: 'action', **{t: f'camera {n}' for n, t in cameras.items()}}
    sampler = StreamSampler(list(topics.values()), args.max_age)
    period_ns = int(round(1e9 / args.fps))
    writer: DatasetWriter | None = None
    shapes: dict[str, tuple[int, int]] = {}
    next_tick: int | None = None
    frames = dropped = 0

    def emit(t_ns: int) -> None:
        nonlocal writer, frames, dropped
        sample = sampler.sample(t_ns * 1e-9)
        if not sample.complete:
            dropped += 1
            return
        if writer is None:
            features = schema.features(shapes, args.fps, args.video_codec)
            writer = DatasetWriter(args.out, args.fps, features, args.robot_type, video_codec=args.video_codec)
            writer.start_episode(args.task)
        frame = schema.frame(sample.values['follower'], sample.values['action'],
                             {name: sample.values[f'camera {name}'] for name in cameras})
        writer.add_frame(frame)
        frames += 1

    with Reader(bag) as reader:
        available = {c.topic: c for c in reader.connections}
        missing = [t for t in topics if t not in available]
        if missing:
            raise DatasetError(f'{bag}: topics {missing} are not in the bag (it has {sorted(available)})')
        connections = [available[t] for t in topics]
        total = sum(c.msgcount for c in connections)
        for conn, t_ns, raw in tqdm(reader.messages(connections=connections), total=total, desc='converting', unit='msg'):
            if next_tick is not None:
                while next_tick < t_ns:  # a tick sees the messages stamped up to and including it
                    emit(next_tick)
                    next_tick += period_ns
            msg = typestore.deserialize_cdr(raw, conn.msgtype)
            stream = topics[conn.topic]
            if stream.startswith('camera '):
                value = np.array(image_to_array(msg, 'rgb8'))
                shapes.setdefault(stream[len('camera '):], value.shape[:2])
            else:
                value = _joint_positions(msg, conn.topic)
            sampler.put(stream, t_ns * 1e-9, value)
            if next_tick is None and sampler.sample(t_ns * 1e-9).complete:
                next_tick = t_ns  # the clock starts once every stream has a value
        if next_tick is not None and next_tick <= t_ns:
            emit(next_tick)
    if writer is None:
        raise DatasetError(f'{bag}: no instant where every stream had a message within {args.max_age} s; '
                           'check the topics and --max-age')
    saved = writer.save_episode()
    return {'dataset': str(args.out), 'episode': saved.episode_index, 'frames': saved.length,
            'dropped_ticks': dropped, 'task': args.task}
