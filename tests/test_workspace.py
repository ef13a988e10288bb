"""The workspace is what a ROS 2 user expects: eleven ament_python packages colcon can build and run."""

import subprocess
from pathlib import Path

from catkin_pkg.package import parse_package

REPO = Path(__file__).resolve().parents[1]
PACKAGES = [
    'robolearn_bringup', 'robolearn_camera', 'robolearn_core', 'robolearn_eval', 'robolearn_executor',
    'robolearn_hardware', 'robolearn_policy', 'robolearn_ros', 'robolearn_sim', 'robolearn_teleop', 'robolearn_train',
]


def test_colcon_lists_eleven_ament_python_packages():
    out = subprocess.run(['colcon', 'list'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = sorted(line.split('\t')[0] for line in out.splitlines() if line.strip())
    assert listed == PACKAGES
    assert out.count('(ros.ament_python)') == len(PACKAGES) == 11, out


def test_package_manifests_are_valid_and_installed():
    for name in PACKAGES:
        pkg = parse_package(REPO / 'src' / name / 'package.xml')  # raises on an invalid manifest
        assert pkg.name == name and pkg.get_build_type() == 'ament_python'
        assert (REPO / 'src' / name / 'resource' / name).exists()
        assert (REPO / 'install' / name / 'share' / 'ament_index' / 'resource_index' / 'packages' / name).exists()


def test_core_has_no_ros_imports():
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / 'src' / 'robolearn_core').rglob('*.py')
        if any(line.lstrip().startswith(('import rclpy', 'from rclpy', 'import sensor_msgs', 'from sensor_msgs'))
               for line in p.read_text().splitlines())
    ]
    assert offenders == []


def test_bringup_installs_launch_and_config():
    from ament_index_python.packages import get_package_share_directory

    share = Path(get_package_share_directory('robolearn_bringup'))
    for folder, pattern in (('launch', '*.launch.py'), ('config', '*.yaml')):
        expected = sorted(p.name for p in (REPO / folder).glob(pattern))
        assert expected and sorted(p.name for p in (share / folder).glob(pattern)) == expected


def test_with_env_puts_executables_on_path():
    out = subprocess.run([str(REPO / 'scripts' / 'with-env'), 'bash', '-c', 'command -v camera_node check_launch'],
                         capture_output=True, text=True, check=True).stdout.split()
    assert [Path(p).name for p in out] == ['camera_node', 'check_launch']


def _imported_packages(py: Path) -> set[str]:
    """robolearn_* packages a module imports (import statements only, not words in strings)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(py.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        found |= {n.split('.')[0] for n in names if n.startswith('robolearn_')}
    return found


def test_packages_import_only_what_their_manifests_declare():
    """The arrows between packages: a module may import another robolearn package only if its package.xml depends on it."""
    problems = []
    for name in PACKAGES:
        declared = {d.name for d in parse_package(REPO / 'src' / name / 'package.xml').exec_depends}
        for py in (REPO / 'src' / name / name).rglob('*.py'):
            undeclared = _imported_packages(py) - declared - {name}
            if undeclared:
                problems.append(f'{py.relative_to(REPO)} imports {sorted(undeclared)}, not in {name}/package.xml')
    assert problems == []


def test_core_has_no_process_or_signal_plumbing():
    """robolearn_core is the plain library: starting processes and nodes' signal handling live in robolearn_ros.

    The one exception is the trainer's own contract: ``fit`` stops cleanly between steps on SIGINT/SIGTERM
    (training/stop_request.py) and keeps Ctrl-C away from its decoding workers (training/frame_cache.py).
    """
    allowed = {'training/stop_request.py': 'import signal', 'training/frame_cache.py': 'import signal'}
    core = REPO / 'src' / 'robolearn_core' / 'robolearn_core'
    offenders = [str(p.relative_to(REPO)) for p in core.rglob('*.py')
                 for line in p.read_text().splitlines()
                 if line.strip() in ('import signal', 'import subprocess')
                 and allowed.get(str(p.relative_to(core))) != line.strip()]
    assert offenders == []
