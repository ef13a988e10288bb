"""Start the simulated world's node graph as separate processes, as ``sim.launch.py`` would, and stop it.

Why not ``ros2 launch``: the pip environment has no ``launch`` package. The executables and the YAML
files are found through the ament index, so this works in both environments; the processes themselves
are robolearn_ros.process_graph's. Like the launch file, the two so100_drivers start only once the
world node says its simulated buses are ready (a driver refuses to start on a port that does not exist).
The bus ports and calibration files live under ``/tmp/robolearn_sim/<ROS_DOMAIN_ID>/``, so graphs in
different ROS domains do not take each other's buses.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ament_index_python.packages import get_package_share_directory

from robolearn_ros.process_graph import ProcessGraph
from robolearn_sim.graph_paths import BUSES_READY, domain_folder, graph_parameters

#: (package, executable, node name, parameter file in robolearn_bringup/config) of the simulated graph,
#: in start order, as in launch/sim.launch.py; sim.yaml's section of the node applies on top.
SIM_NODES = (
    ('robolearn_sim', 'world_node', 'world_node', 'sim.yaml'),
    ('robolearn_hardware', 'so100_driver', 'so100_follower', 'so100_follower.yaml'),
    ('robolearn_hardware', 'so100_driver', 'so100_leader', 'so100_leader.yaml'),
    ('robolearn_teleop', 'teleop_node', 'teleop_node', 'sim.yaml'),
    ('robolearn_camera', 'camera_node', 'front_camera', 'sim.yaml'),
    ('robolearn_camera', 'camera_node', 'wrist_camera', 'sim.yaml'),
)
#: The deployment graph in place of teleop (as policy.launch.py starts it), with config/policy.yaml.
POLICY_NODES = (
    ('robolearn_policy', 'policy_node', 'policy_node', 'policy.yaml'),
    ('robolearn_executor', 'executor_node', 'executor_node', 'policy.yaml'),
    ('robolearn_policy', 'chunk_path', 'chunk_path', 'policy.yaml'),
)
RECORDER = ('robolearn_teleop', 'recorder_node', 'recorder', 'recorder.yaml')
WORLD_START_TIMEOUT_S = 120.0


def graph_nodes(policy: bool, record: bool) -> tuple[tuple[str, str, str, str], ...]:
    """The simulated graph with the expert (teleop) or a policy (policy + executor) driving, and a recorder."""
    nodes = tuple(n for n in SIM_NODES if not (policy and n[1] == 'teleop_node'))
    return nodes + (POLICY_NODES if policy else ()) + ((RECORDER,) if record else ())


def bus_paths(domain: str | None = None) -> dict[str, dict[str, str]]:
    """Parameter overrides that put both arms' bus ports and calibration files in a folder of this ROS domain."""
    return graph_parameters(domain_folder(domain or os.environ.get('ROS_DOMAIN_ID', '0')))


class SimGraph:
    """The world, the two drivers, teleop and camera nodes, with per-node parameter overrides; a context manager."""

    def __init__(self, overrides: dict[str, dict[str, Any]], nodes=SIM_NODES, log_dir: Path | None = None) -> None:
        self.overrides, self.nodes = overrides, nodes
        self._own_log_dir = log_dir is None  # a temporary one: removed after a clean run, kept after a failure
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix='robolearn-sim-graph-'))
        self.graph = ProcessGraph(self.log_dir, stop_timeout=10.0)

    def __enter__(self) -> SimGraph:
        config = Path(get_package_share_directory('robolearn_bringup')) / 'config'
        sim = yaml.safe_load((config / 'sim.yaml').read_text())
        paths = bus_paths()
        try:
            for package, executable, name, params_file in self.nodes:
                params = {**sim.get(name, {}).get('ros__parameters', {}), **paths.get(name, {}), **self.overrides.get(name, {})}
                node = self.graph.start(package, executable, name=name, params_file=config / params_file, params=params)
                if executable == 'world_node' and not node.wait_for_output(BUSES_READY, WORLD_START_TIMEOUT_S):
                    raise RuntimeError(f'world_node did not serve its simulated buses within {WORLD_START_TIMEOUT_S:g} s:\n'
                                       + node.output()[-2000:])
        except BaseException:
            self.__exit__(RuntimeError, None, None)
            raise
        return self

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each node has used so far, from /proc (Linux)."""
        ticks = os.sysconf('SC_CLK_TCK')
        used = {}
        for node in self.graph.processes:
            try:
                fields = Path(f'/proc/{node.proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            used[node.label] = (int(fields[11]) + int(fields[12])) / ticks
        return used

    def crashed(self) -> list[str]:
        """Names of nodes that exited, with the end of their log."""
        return [
            f'{n.label} exited with {n.proc.returncode}:\n{n.output()[-2000:]}' for n in self.graph.processes if not n.running()
        ]

    def __exit__(self, exc_type, *exc) -> None:
        problems = self.graph.close()
        if problems:
            print('simulated graph: ' + '; '.join(problems), file=sys.stderr)
        if exc_type is None and self._own_log_dir and not problems:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        elif exc_type is not None or problems:
            print(f'simulated graph: node logs kept in {self.log_dir}', file=sys.stderr)
