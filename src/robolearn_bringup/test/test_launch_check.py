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


def problems_with(copy, path: str, old: str, new: str, count: int = -1) -> list[str]:
    """check_launch's problems after replacing ``old`` by ``new`` in the copied file at ``path``."""
    f = copy / path
    assert old in f.read_text(), f'{old!r} is not in {path}: the test no longer breaks anything'
    f.write_text(f.read_text().replace(old, new, count))
    return check(copy / 'launch', copy / 'config')


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
    problems = problems_with(
        copy,
        'launch/camera.launch.py',
        "executable='camera_node', name='wrist_camera'",
        "executable='camera_nod', name='wrist_camera'",
    )
    assert any("robolearn_camera has no executable 'camera_nod'" in p for p in problems), problems
    assert main(['--launch-dir', str(copy / 'launch'), '--config-dir', str(copy / 'config')]) == 1
    assert 'camera_nod' in capsys.readouterr().err


def test_undeclared_parameter_fails(copy):
    problems = problems_with(copy, 'config/camera.yaml', '    fps: 30.0\n', '    fps: 30.0\n    exposure_us: 5000\n', 1)
    assert (
        len(problems) == 1
        and "'exposure_us' is not a parameter of robolearn_camera/camera_node (node front_camera)" in problems[0]
    )


def test_wrong_parameter_type_fails(copy):
    problems = problems_with(copy, 'config/camera.yaml', '    width: 128\n', "    width: 'wide'\n", 1)
    assert len(problems) == 1 and 'node front_camera rejects its parameters' in problems[0], problems


def test_missing_parameter_file_and_orphan_section_fail(copy):
    problems = problems_with(copy, 'launch/camera.launch.py', "'camera.yaml'", "'cameras.yaml'")
    assert any('parameter file cameras.yaml does not exist' in p for p in problems), problems

    shutil.copy(REPO / 'launch' / 'camera.launch.py', copy / 'launch' / 'camera.launch.py')
    problems = problems_with(copy, 'config/camera.yaml', 'wrist_camera:', 'gripper_camera:')
    assert problems == ["camera.yaml: section 'gripper_camera' configures no node in the launch files (renamed node?)"]


def test_invalid_parameter_value_is_reported_by_the_node(copy):
    problems = problems_with(copy, 'config/camera.yaml', '    source: pattern', '    source: webcam', 1)
    assert len(problems) == 1 and "source 'webcam' is not one of" in problems[0], problems


def test_bare_launch_substitution_for_a_parameter_fails(copy):
    """launch_ros reads a bare LaunchConfiguration as YAML: task:=1 reached the recorder as an int and killed it."""
    problems = problems_with(
        copy,
        'launch/record.launch.py',
        "'task': ParameterValue(LaunchConfiguration('task'), value_type=str)",
        "'task': LaunchConfiguration('task')",
    )
    assert len(problems) == 1 and "inline parameter 'task' of node recorder is a launch-time substitution" in problems[0], (
        problems
    )
    assert 'ParameterValue(..., value_type=str)' in problems[0]


def test_wrong_value_type_and_unknown_inline_parameter_fail(copy):
    problems = problems_with(copy, 'launch/sim.launch.py', "LaunchConfiguration('seed'), value_type=int)",
                             "LaunchConfiguration('seed'), value_type=str)")
    assert (
        len(problems) == 1
        and "'seed' of node world_node is ParameterValue(value_type=str), but the node declares it INTEGER" in problems[0]
    ), problems

    follower_port = "ParameterValue(LaunchConfiguration('follower_port')"
    problems = problems_with(copy, 'launch/so100.launch.py', f"'port': {follower_port}", f"'serial_port': {follower_port}")
    assert any(
        "inline parameter 'serial_port' is not a parameter of robolearn_hardware/so100_driver (node so100_follower)" in p
        for p in problems
    ), problems


def test_nodes_of_other_packages_are_listed_not_checked(copy, capsys):
    """robot_state_publisher and rviz2 are not in the pip environment: listed, not instantiated, not a problem."""
    not_checked = []
    assert check(REPO / 'launch', REPO / 'config', not_checked) == []
    assert [n.split(' ')[0] for n in not_checked] == ['robot_state_publisher/robot_state_publisher', 'rviz2/rviz2']
    assert all('description.launch.py:' in n for n in not_checked), not_checked
    assert main(['--launch-dir', str(REPO / 'launch'), '--config-dir', str(REPO / 'config')]) == 0
    out = capsys.readouterr().out
    assert 'not checked (not robolearn packages): robot_state_publisher/robot_state_publisher' in out
    assert '2 nodes of other packages not checked' in out

    # a robolearn package is checked even when it does not exist (a typo), and so are its YAML sections
    problems = problems_with(copy, 'launch/camera.launch.py', "package='robolearn_camera', executable='camera_node', "
                             "name='wrist_camera'", "package='robolearn_camer', executable='camera_node', name='wrist_camera'")
    assert any("package 'robolearn_camer' is not installed" in p for p in problems), problems
