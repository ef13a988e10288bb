"""Two node processes exchange sensor_msgs/Image over real DDS through the image helper."""

from pathlib import Path

import numpy as np
import pytest

from robolearn_camera.color_bars import color_bars, frame_index_of
from robolearn_ros.image_conversion import convert_channels

SINK = Path(__file__).parent / 'nodes' / 'image_sink.py'


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8', 'mono8'])
def test_camera_frames_arrive_pixel_exact(ros_graph, tmp_path, encoding):
    out = tmp_path / 'frames'
    out.mkdir()
    ros_graph.start(
        'robolearn_camera', 'camera_node', name='front_camera', params_file='config/camera.yaml',
        params={'width': 80, 'height': 60, 'encoding': encoding},
    )
    sink = ros_graph.start_command(
        ['python3', str(SINK)], label='image_sink',
        params={'out_dir': str(out), 'max_frames': 5, 'desired_encoding': 'rgb8'},
        remaps={'image': '/cameras/front/image_raw'},
    )
    sink.wait_for_output(r'saved frame 5\b', timeout=20)

    indices = []
    for f in sorted(out.glob('*.npy')):
        got = np.load(f)
        assert (out / f.name.replace('.npy', '.encoding')).read_text() == encoding
        assert got.shape == (60, 80, 3) and got.dtype == np.uint8
        index = frame_index_of(got)
        expected = color_bars(index, 60, 80)
        if encoding == 'mono8':
            expected = convert_channels(convert_channels(expected, 'rgb8', 'mono8'), 'mono8', 'rgb8')
            index = None  # the index block survives grey conversion (equal channels), the rest is grey
        np.testing.assert_array_equal(got, expected)
        indices.append(index)
    if encoding != 'mono8':
        assert indices == sorted(indices) and len(set(indices)) == 5, f'frames out of order or repeated: {indices}'
