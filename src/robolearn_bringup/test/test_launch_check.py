"""check_launch passes on the real launch/config and fails, naming the problem, on broken copies."""

import shutil
from pathlib import Path

import pytest

from robolearn_bringup.launch_check import check, main, parse_launch_file

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def copy(tmp_path):
    shutil.copytree(REPO / 'launch', tmp_path / 'launch')
    shutil.copytree(REPO / 'config', tmp_path / 'config')
    return tmp_path


def test_real_launch_files_pass():
    assert check(REPO / 'launch', REPO / 'config') == []
    assert main(['--launch-dir', str(REPO / 'launch'), '--config-dir', str(REPO / 'config')]) == 0


def test_parser_sees_nodes_and_their_yaml():
    specs = parse_launch_file(REPO / 'launch' / 'camera.launch.py')
    assert [(s.package, s.executable, s.name, s.param_files) for s in specs] == [
        ('robolearn_camera', 'camera_node', 'front_camera', ['camera.yaml']),
        ('robolearn_camera', 'camera_node', 'wrist_camera', ['camera.yaml']),
    ]


def test_wrong_executable_name_fails(copy, capsys):
    f = copy / 'launch' / 'camera.launch.py'
    f.write_text(f.read_text().replace("executable='camera_node', name='wrist_camera'", "executable='camera_nod', name='wrist_camera'"))
    problems = check(copy / 'launch', copy / 'config')
    assert any("robolearn_camera has no executable 'camera_nod'" in p for p in problems), problems
    assert main(['--launch-dir', str(copy / 'launch'), '--config-dir', str(copy / 'config')]) == 1
    assert 'camera_nod' in capsys.readouterr().err


def test_undeclared_parameter_fails(copy):
    f = copy / 'config' / 'camera.yaml'
    f.write_text(f.read_text().replace('    fps: 30.0\n', '    fps: 30.0\n    exposure_us: 5000\n', 1))
    problems = check(copy / 'launch', copy / 'config')
    assert len(problems) == 1 and "'exposure_us' is not a parameter of robolearn_camera/camera_node (node front_camera)" in problems[0]


def test_wrong_parameter_type_fails(copy):
    f = copy / 'config' / 'camera.yaml'
    f.write_text(f.read_text().replace('    width: 128\n', "    width: 'wide'\n", 1))
    problems = check(copy / 'launch', copy / 'config')
    assert len(problems) == 1 and 'node front_camera rejects its parameters' in problems[0], problems


def test_missing_parameter_file_and_orphan_section_fail(copy):
    f = copy / 'launch' / 'camera.launch.py'
    f.write_text(f.read_text().replace("'camera.yaml'", "'cameras.yaml'"))
    problems = check(copy / 'launch', copy / 'config')
    assert any('parameter file cameras.yaml does not exist' in p for p in problems), problems

    shutil.copy(REPO / 'launch' / 'camera.launch.py', f)
    y = copy / 'config' / 'camera.yaml'
    y.write_text(y.read_text().replace('wrist_camera:', 'gripper_camera:'))
    problems = check(copy / 'launch', copy / 'config')
    assert problems == ["camera.yaml: section 'gripper_camera' configures no node in the launch files (renamed node?)"]


def test_invalid_parameter_value_is_reported_by_the_node(copy):
    f = copy / 'config' / 'camera.yaml'
    f.write_text(f.read_text().replace('    source: pattern', '    source: webcam', 1))
    problems = check(copy / 'launch', copy / 'config')
    assert len(problems) == 1 and "source 'webcam' is not one of" in problems[0], problems


def test_bare_launch_substitution_for_a_parameter_fails(copy):
    """launch_ros reads a bare LaunchConfiguration as YAML: task:=1 reached the recorder as an int and killed it."""
    f = copy / 'launch' / 'record.launch.py'
    f.write_text(f.read_text().replace("'task': ParameterValue(LaunchConfiguration('task'), value_type=str)", "'task': LaunchConfiguration('task')"))
    problems = check(copy / 'launch', copy / 'config')
    assert len(problems) == 1 and "inline parameter 'task' of node recorder is a launch-time substitution" in problems[0], problems
    assert 'ParameterValue(..., value_type=str)' in problems[0]


def test_wrong_value_type_and_unknown_inline_parameter_fail(copy):
    f = copy / 'launch' / 'sim.launch.py'
    f.write_text(f.read_text().replace("value_type=int)}", "value_type=str)}"))
    problems = check(copy / 'launch', copy / 'config')
    assert len(problems) == 1 and "'seed' of node world_node is ParameterValue(value_type=str), but the node declares it INTEGER" in problems[0], problems

    f = copy / 'launch' / 'so100.launch.py'
    f.write_text(f.read_text().replace("follower_overrides = {'port':", "follower_overrides = {'serial_port':"))
    problems = check(copy / 'launch', copy / 'config')
    assert any("inline parameter 'serial_port' is not a parameter of robolearn_hardware/so100_driver (node so100_follower)" in p
               for p in problems), problems
