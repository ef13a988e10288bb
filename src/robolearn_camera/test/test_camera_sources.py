"""camera_node's file and opencv sources over real DDS: pacing, stamps, diagnostics, and reconnection."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from robolearn_ros.image_conversion import image_to_array

W, H = 96, 72


def frame(i: int) -> np.ndarray:
    """Frame i of the test clips: flat grey 5 * i (survives YUV conversion and compression within 2 levels)."""
    return np.full((H, W, 3), 5 * i, dtype=np.uint8)


def index_of(rgb: np.ndarray) -> int:
    return int(round(float(np.median(rgb)) / 5))


def make_video(path: Path, frames: int) -> Path:
    """A clip whose frame i is ``frame(i)``, H.264 near lossless."""
    with av.open(str(path), 'w') as c:
        s = c.add_stream('libx264', rate=30, options={'crf': '0', 'g': '2'})
        s.width, s.height, s.pix_fmt = W, H, 'yuv420p'
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(frame(i), format='rgb24')
            f.pts, f.time_base = i, Fraction(1, 30)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


def diag_values(msgs: list, camera: str) -> list[dict]:
    out = []
    for m in msgs:
        for st in m.status:
            if st.name.endswith(f'camera {camera}'):
                out.append({'level': st.level, 'message': st.message, **{kv.key: kv.value for kv in st.values}})
    return out


def test_file_source_plays_at_fps_in_order(ros_graph, tmp_path):
    video = make_video(tmp_path / 'clip.mp4', 45)
    ros_graph.start('robolearn_camera', 'camera_node', name='front_camera', params_file='config/camera.yaml',
                    params={'source': 'file', 'device': str(video), 'width': W, 'height': H})
    images = ros_graph.subscribe('/cameras/front/image_raw', Image)
    diags = ros_graph.subscribe('/diagnostics', DiagnosticArray)
    ros_graph.spin_until(lambda: len(images) >= 75, timeout=30, message='75 frames')
    ros_graph.spin_until(lambda: len(diag_values(diags, 'front')) >= 3, timeout=10, message='diagnostics')
    indices = [index_of(image_to_array(m)) for m in images[:75]]
    first = indices[0]
    # consecutive frames of the file, looping after 45
    assert indices == [(first + k) % 45 for k in range(75)], indices
    got = image_to_array(images[10])
    assert np.abs(got.astype(int) - frame(indices[10])).max() <= 2
    stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in images[:75]])
    period = np.median(np.diff(stamps))
    assert abs(period - 1 / 30) < 0.004, period
    last = diag_values(diags, 'front')[-1]
    measured = float(last['measured_fps'])
    assert measured > 25 and last['connected'] == 'true', last
    # OK at >= 90% of 30 fps, WARN below: a loaded make test machine measured 26.1 once, rightly a WARN
    # (the value is printed to 0.1 fps: at 27.0 either level is right)
    expected = {b'\x00'} if measured > 27.05 else {b'\x01'} if measured < 26.95 else {b'\x00', b'\x01'}
    assert last['level'] in expected, last
    assert int(last['dropped_frames']) <= 3


def test_opencv_source_reports_failure_and_reconnects(ros_graph, tmp_path):
    missing = tmp_path / 'cam.mp4'  # does not exist yet: the camera is "unplugged"
    ros_graph.start('robolearn_camera', 'camera_node', name='wrist_camera', params_file='config/camera.yaml',
                    params={'source': 'opencv', 'device': str(missing), 'width': W, 'height': H,
                            'reconnect_period': 0.2, 'fourcc': ''})
    images = ros_graph.subscribe('/cameras/wrist/image_raw', Image)
    diags = ros_graph.subscribe('/diagnostics', DiagnosticArray)
    ros_graph.spin_until(lambda: diag_values(diags, 'wrist'), timeout=15, message='diagnostics')
    first = diag_values(diags, 'wrist')[0]
    assert first['level'] == b'\x02' and 'cannot open camera' in first['message'] and first['connected'] == 'false'
    assert not images
    # plug it in: a 20-frame clip; OpenCV reads it to its end, which is a failure the node recovers from
    shutil.copy(make_video(tmp_path / 'src.mp4', 20), missing)
    ros_graph.spin_until(lambda: len(images) >= 45, timeout=30, message='frames after reconnecting twice')
    ros_graph.spin_until(lambda: int(diag_values(diags, 'wrist')[-1]['reconnects']) >= 2, timeout=10,
                         message='reconnects counted')
    indices = [index_of(image_to_array(m)) for m in images]
    # OpenCV reads a file as fast as it can, so a burst may outrun the subscriber's queue; what must hold:
    # each play is in order, and the clip started again after each end-of-stream failure
    restarts = [k for k in range(1, len(indices)) if indices[k] < indices[k - 1]]
    assert len(restarts) >= 2, indices
    assert all(0 <= i < 20 for i in indices) and indices[restarts[0] - 1] == 19, indices
    assert image_to_array(images[0]).shape == (H, W, 3)
