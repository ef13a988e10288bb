"""`dataset from-bag`: a rosbag2 written with rosbags -> a LeRobot dataset that validates and reads back."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Writer
from rosbags.typesys import Stores, get_typestore

from robolearn_core.calibration import ArmCalibration
from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.validate import validate
from robolearn_core.so_arm.joints import JOINT_NAMES

W, H = 64, 48


def write_bag(path: Path, seconds: float = 2.0) -> None:
    """Follower/leader joint states at 100 Hz and one camera at 30 Hz (frame k is grey 4 k), in bag time."""
    ts = get_typestore(Stores.ROS2_JAZZY)
    JointState = ts.types['sensor_msgs/msg/JointState']
    Image = ts.types['sensor_msgs/msg/Image']
    Header = ts.types['std_msgs/msg/Header']
    Time = ts.types['builtin_interfaces/msg/Time']
    t0 = 1_000_000_000_000
    with Writer(path, version=9) as w:
        conns = {t: w.add_connection(t, 'sensor_msgs/msg/JointState', typestore=ts)
                 for t in ('/follower/joint_states', '/leader/joint_states')}
        cam = w.add_connection('/cameras/front/image_raw', 'sensor_msgs/msg/Image', typestore=ts)
        events = []
        for k in range(int(seconds * 100)):
            events.append((t0 + k * 10_000_000, 'joints', k))
        for k in range(int(seconds * 30)):
            events.append((t0 + 2_000_000 + k * 33_333_333, 'image', k))
        for t, kind, k in sorted(events):
            header = Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id='')
            if kind == 'joints':
                for topic, offset in (('/follower/joint_states', 0.0), ('/leader/joint_states', 0.1)):
                    pos = np.array([0.01 * k + offset] * 5 + [0.0])
                    msg = JointState(header=header, name=list(JOINT_NAMES), position=pos,
                                     velocity=np.zeros(0), effort=np.zeros(0))
                    w.write(conns[topic], t, ts.serialize_cdr(msg, 'sensor_msgs/msg/JointState'))
            else:
                data = np.full(H * W * 3, (4 * k) % 256, dtype=np.uint8)
                msg = Image(header=header, height=H, width=W, encoding='rgb8', is_bigendian=0, step=W * 3, data=data)
                w.write(cam, t, ts.serialize_cdr(msg, 'sensor_msgs/msg/Image'))


def test_from_bag_converts_a_recording(tmp_path):
    bag = tmp_path / 'bag'
    write_bag(bag)
    motors = {n: {'id': i + 1, 'drive_mode': 0, 'homing_offset': 0, 'range_min': 1000, 'range_max': 3000}
              for i, n in enumerate(JOINT_NAMES)}
    ArmCalibration.from_dict(motors).save(tmp_path / 'cal.json')
    out = tmp_path / 'ds'
    res = subprocess.run(['dataset', 'from-bag', str(bag), str(out), '--task', 'pick the cube',
                          '--camera', 'front=/cameras/front/image_raw', '--calibration', str(tmp_path / 'cal.json'),
                          '--video-codec', 'h264'], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert 58 <= summary['frames'] <= 60 and summary['dropped_ticks'] == 0
    assert validate(out).ok
    r = DatasetReader(out)
    assert r.num_episodes == 1 and r[0]['task'] == 'pick the cube'
    for i in (0, 10, 40):
        item = r[i]
        # tick i is at t_first + i / 30 (the first instant with every stream): the joint value is the newest
        # one at that time, the image the newest frame
        t = i / 30 + 0.002
        k_joint = int(math.floor(t * 100 + 1e-9))
        np.testing.assert_allclose(item['observation.state'][0], 0.01 * k_joint * 180 / math.pi, atol=1e-3)
        np.testing.assert_allclose(item['action'][0], (0.01 * k_joint + 0.1) * 180 / math.pi, atol=1e-3)
        assert item['observation.state'][5] == 50.0  # gripper at the middle of its range
        np.testing.assert_allclose(item['observation.images.front'] * 255, (4 * i) % 256, atol=3)


def test_from_bag_names_missing_topics(tmp_path):
    bag = tmp_path / 'bag'
    write_bag(bag, 0.3)
    res = subprocess.run(['dataset', 'from-bag', str(bag), str(tmp_path / 'ds'), '--task', 't', '--units', 'raw',
                          '--camera', 'wrist=/cameras/wrist/image_raw'], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "topics ['/cameras/wrist/image_raw'] are not in the bag" in res.stderr
    assert not (tmp_path / 'ds').exists()
