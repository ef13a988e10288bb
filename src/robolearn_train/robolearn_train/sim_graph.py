"""Start the simulated world's node graph as separate processes, as ``sim.launch.py`` would, and stop it.

Why not ``ros2 launch``: the pip environment has no ``launch`` package. The executables and
``config/sim.yaml`` are found through the ament index, so this works in both environments.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ament_index_python.packages import get_package_prefix, get_package_share_directory

#: (package, executable, node name) of the simulated graph, as in launch/sim.launch.py.
SIM_NODES = (
    ('robolearn_sim', 'world_node', 'world_node'),
    ('robolearn_teleop', 'teleop_node', 'teleop_node'),
    ('robolearn_camera', 'camera_node', 'front_camera'),
    ('robolearn_camera', 'camera_node', 'wrist_camera'),
)


def node_executable(package: str, executable: str) -> Path:
    path = Path(get_package_prefix(package)) / 'lib' / package / executable
    if not path.exists():
        raise FileNotFoundError(f'{path} is missing: build the workspace (make build, or colcon build)')
    return path


@dataclass
class RunningNode:
    name: str
    proc: subprocess.Popen
    log_path: Path


class SimGraph:
    """The world, teleop and camera nodes, with per-node parameter overrides; a context manager."""

    def __init__(self, overrides: dict[str, dict[str, Any]], nodes=SIM_NODES, log_dir: Path | None = None) -> None:
        self.overrides, self.nodes = overrides, nodes
        self._own_log_dir = log_dir is None  # a temporary one: removed after a clean run, kept after a failure
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix='robolearn-sim-graph-'))
        self.running: list[RunningNode] = []

    def __enter__(self) -> SimGraph:
        params = Path(get_package_share_directory('robolearn_bringup')) / 'config' / 'sim.yaml'
        override_file = self.log_dir / 'overrides.yaml'
        override_file.write_text(yaml.safe_dump({name: {'ros__parameters': p} for name, p in self.overrides.items()}))
        for package, executable, name in self.nodes:
            log_path = self.log_dir / f'{name}.log'
            with open(log_path, 'wb') as log:
                proc = subprocess.Popen(
                    [str(node_executable(package, executable)), '--ros-args', '--params-file', str(params),
                     '--params-file', str(override_file), '-r', f'__node:={name}'],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    env={**os.environ, 'PYTHONUNBUFFERED': '1'},
                )
            self.running.append(RunningNode(name, proc, log_path))
        return self

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each node has used so far, from /proc (Linux)."""
        ticks = os.sysconf('SC_CLK_TCK')
        used = {}
        for node in self.running:
            try:
                fields = Path(f'/proc/{node.proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            used[node.name] = (int(fields[11]) + int(fields[12])) / ticks
        return used

    def crashed(self) -> list[str]:
        """Names of nodes that exited, with the end of their log."""
        return [
            f'{n.name} exited with {n.proc.returncode}:\n{n.log_path.read_text(errors="replace")[-2000:]}'
            for n in self.running if n.proc.poll() is not None
        ]

    def __exit__(self, exc_type, *exc) -> None:
        for node in reversed(self.running):
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGINT)
        for node in self.running:
            try:
                node.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(node.proc.pid, signal.SIGKILL)
                node.proc.wait(5)
        if exc_type is None and self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        elif exc_type is not None:
            print(f'simulated graph: node logs kept in {self.log_dir}', file=sys.stderr)
